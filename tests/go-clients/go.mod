module tailtape/goclients

go 1.26

require (
	github.com/tailscale/hujson v0.0.0-20220506213045-af5ed07155e5
	github.com/tailscale/tailscale-client-go v1.17.0
	tailscale.com/client/tailscale/v2 v2.12.0
	tailtape/tailtapetest v0.0.0
)

require golang.org/x/oauth2 v0.34.0 // indirect

replace tailtape/tailtapetest => ../../go/tailtapetest
