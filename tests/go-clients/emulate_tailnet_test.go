package goclients

import (
	"context"
	"fmt"
	"math/rand"
	"slices"
	"testing"
	"time"

	tsclient "tailscale.com/client/tailscale/v2"
)

// The emulate areas of DNS, tailnet settings and contacts, webhooks, users, logging, posture
// integrations and services (emulate_test.go runs them), on the seed's tailnet.

// randomIPv4 returns a random address in 10.0.0.0/8.
func randomIPv4(r *rand.Rand) string {
	return fmt.Sprintf("10.%d.%d.%d", r.Intn(256), r.Intn(256), 1+r.Intn(254))
}

func emulateDNS(t *testing.T, client *tsclient.Client, r *rand.Rand) {
	dns := client.DNS()
	ctx := context.Background()

	nameservers := []string{randomIPv4(r), randomIPv4(r)}
	ok(t, "SetNameservers", dns.SetNameservers(ctx, nameservers))
	inRandomOrder(r,
		func() {
			got, err := dns.Nameservers(ctx)
			if ok(t, "Nameservers", err) && !slices.Equal(got, nameservers) {
				t.Errorf("Nameservers after SetNameservers %v: %v", nameservers, got)
			}
		},
		func() {
			ok(t, "SetPreferences", dns.SetPreferences(ctx, tsclient.DNSPreferences{MagicDNS: true}))
			got, err := dns.Preferences(ctx)
			if ok(t, "Preferences", err) && !got.MagicDNS {
				t.Errorf("magicDNS is off after SetPreferences")
			}
		},
		func() {
			paths := []string{randomName(r, "", 6) + ".example.com", randomName(r, "", 6) + ".example.com"}
			ok(t, "SetSearchPaths", dns.SetSearchPaths(ctx, paths))
			got, err := dns.SearchPaths(ctx)
			if ok(t, "SearchPaths", err) && !slices.Equal(got, paths) {
				t.Errorf("SearchPaths after SetSearchPaths %v: %v", paths, got)
			}
		},
	)
	configuration := tsclient.DNSConfiguration{
		Nameservers: []tsclient.DNSConfigurationResolver{{Address: randomIPv4(r), UseWithExitNode: r.Intn(2) == 0}},
		SplitDNS: map[string][]tsclient.DNSConfigurationResolver{
			randomName(r, "", 5) + ".example.com": {{Address: randomIPv4(r), UseWithExitNode: true}},
		},
		SearchPaths: []string{randomName(r, "", 5) + ".example.com"},
		Preferences: tsclient.DNSConfigurationPreferences{OverrideLocalDNS: r.Intn(2) == 0, MagicDNS: true},
	}
	ok(t, "SetConfiguration", dns.SetConfiguration(ctx, configuration))
	got, err := dns.Configuration(ctx)
	if ok(t, "Configuration", err) {
		same := len(got.Nameservers) == 1 && got.Nameservers[0] == configuration.Nameservers[0] &&
			slices.Equal(got.SearchPaths, configuration.SearchPaths) && got.Preferences == configuration.Preferences &&
			len(got.SplitDNS) == 1
		for domain, resolvers := range configuration.SplitDNS {
			same = same && slices.Equal(got.SplitDNS[domain], resolvers)
		}
		if !same {
			t.Errorf("Configuration after SetConfiguration %+v: %+v", configuration, *got)
		}
	}
	ok(t, "SetNameservers to none", dns.SetNameservers(ctx, []string{}))
}

func emulateSplitDNS(t *testing.T, client *tsclient.Client, r *rand.Rand) {
	dns := client.DNS()
	ctx := context.Background()
	domain := randomName(r, "", 6) + ".example.com"
	resolvers := []string{randomIPv4(r), randomIPv4(r)}

	split, err := dns.UpdateSplitDNS(ctx, tsclient.SplitDNSRequest{domain: resolvers})
	if ok(t, "UpdateSplitDNS", err) && (!slices.Equal(split[domain], resolvers) || len(split["corp.example.com"]) != 1) {
		t.Errorf("UpdateSplitDNS of %s kept the seed's corp.example.com and added %v? %v", domain, resolvers, split)
	}
	split, err = dns.UpdateSplitDNS(ctx, tsclient.SplitDNSRequest{"corp.example.com": nil})
	if ok(t, "UpdateSplitDNS removing a domain", err) {
		if _, still := split["corp.example.com"]; still || len(split) != 1 {
			t.Errorf("corp.example.com is still there: %v", split)
		}
	}
	other := randomName(r, "", 6) + ".example.com"
	ok(t, "SetSplitDNS", dns.SetSplitDNS(ctx, tsclient.SplitDNSRequest{other: {randomIPv4(r)}}))
	split, err = dns.SplitDNS(ctx)
	if ok(t, "SplitDNS", err) && (len(split) != 1 || len(split[other]) != 1) {
		t.Errorf("SplitDNS after SetSplitDNS of %s alone: %v", other, split)
	}
}

func emulateSettingsAndContacts(t *testing.T, client *tsclient.Client, r *rand.Rand) {
	settings, contacts := client.TailnetSettings(), client.Contacts()
	ctx := context.Background()

	inRandomOrder(r,
		func() {
			before, err := settings.Get(ctx)
			if !ok(t, "TailnetSettings.Get", err) {
				return
			}
			approval, days, flows := !before.DevicesApprovalOn, 1+r.Intn(180), !before.NetworkFlowLoggingOn
			updates, users, posture := !before.DevicesAutoUpdatesOn, !before.UsersApprovalOn, !before.PostureIdentityCollectionOn
			join := []tsclient.RoleAllowedToJoinExternalTailnets{tsclient.RoleAllowedToJoinExternalTailnetsNone,
				tsclient.RoleAllowedToJoinExternalTailnetsAdmin, tsclient.RoleAllowedToJoinExternalTailnetsMember}[r.Intn(3)]
			ok(t, "TailnetSettings.Update", settings.Update(ctx, tsclient.UpdateTailnetSettingsRequest{
				DevicesApprovalOn: &approval, DevicesKeyDurationDays: &days, NetworkFlowLoggingOn: &flows,
				DevicesAutoUpdatesOn: &updates, UsersApprovalOn: &users, PostureIdentityCollectionOn: &posture,
				UsersRoleAllowedToJoinExternalTailnets: &join,
			}))
			after, err := settings.Get(ctx)
			if ok(t, "TailnetSettings.Get after Update", err) && (after.DevicesApprovalOn != approval ||
				after.DevicesKeyDurationDays != days || after.NetworkFlowLoggingOn != flows ||
				after.DevicesAutoUpdatesOn != updates || after.UsersApprovalOn != users ||
				after.PostureIdentityCollectionOn != posture || after.UsersRoleAllowedToJoinExternalTailnets != join) {
				t.Errorf("settings after Update (approval %v, %d days, flows %v, auto-updates %v, user approval %v, "+
					"posture %v, join %s): %+v", approval, days, flows, updates, users, posture, join, after)
			}
		},
		func() {
			email := randomName(r, "sec-", 6) + "@example.com"
			ok(t, "Contacts.Update", contacts.Update(ctx, tsclient.ContactSecurity, tsclient.UpdateContactRequest{Email: &email}))
			got, err := contacts.Get(ctx)
			if ok(t, "Contacts.Get", err) && (got.Security.Email != email || got.Support.Email != "it@example.com") {
				t.Errorf("contacts after setting security to %s: %+v", email, got)
			}
		},
	)
}

func emulateWebhooks(t *testing.T, client *tsclient.Client, r *rand.Rand) {
	webhooks := client.Webhooks()
	ctx := context.Background()
	url := "https://hooks.example.com/" + randomName(r, "", 10)

	created, err := webhooks.Create(ctx, tsclient.CreateWebhookRequest{
		EndpointURL:   url,
		ProviderType:  tsclient.WebhookEmptyProviderType,
		Subscriptions: []tsclient.WebhookSubscriptionType{tsclient.WebhookNodeCreated, tsclient.WebhookUserNeedsApproval},
	})
	if !ok(t, "Create", err) {
		return
	}
	if created.Secret == nil || *created.Secret == "" || created.EndpointURL != url {
		t.Errorf("the created webhook: %+v", created)
	}
	_, err = webhooks.Create(ctx, tsclient.CreateWebhookRequest{
		EndpointURL: "ftp://hooks.example.com", Subscriptions: []tsclient.WebhookSubscriptionType{tsclient.WebhookNodeCreated},
	})
	refusedWith(t, "Create with an ftp URL", 400, err)
	id := created.EndpointID
	inRandomOrder(r,
		func() {
			list, err := webhooks.List(ctx)
			if ok(t, "List", err) && !slices.ContainsFunc(list, func(w tsclient.Webhook) bool { return w.EndpointID == id }) {
				t.Errorf("the created webhook %s is not listed: %v", id, list)
			}
		},
		func() {
			subscriptions := []tsclient.WebhookSubscriptionType{tsclient.WebhookNodeDeleted, tsclient.WebhookPolicyUpdate}
			_, err := webhooks.Update(ctx, id, subscriptions)
			ok(t, "Update", err)
			got, err := webhooks.Get(ctx, id)
			if ok(t, "Get", err) && !slices.Equal(got.Subscriptions, subscriptions) {
				t.Errorf("subscriptions after Update %v: %v", subscriptions, got.Subscriptions)
			}
		},
		func() { ok(t, "Test", webhooks.Test(ctx, id)) },
		func() {
			rotated, err := webhooks.RotateSecret(ctx, id)
			if ok(t, "RotateSecret", err) && (rotated.Secret == nil || *rotated.Secret == *created.Secret) {
				t.Errorf("RotateSecret gave the same secret or none: %+v", rotated)
			}
		},
	)
	ok(t, "Delete", webhooks.Delete(ctx, id))
	_, err = webhooks.Get(ctx, id)
	notFound(t, "Get after Delete", err)
	notFound(t, "Delete again", webhooks.Delete(ctx, id))
}

func emulateUsers(t *testing.T, client *tsclient.Client, r *rand.Rand) {
	users := client.Users()
	ctx := context.Background()
	shared, member := tsclient.UserTypeShared, tsclient.UserTypeMember
	owner, admin := tsclient.UserRoleOwner, tsclient.UserRoleITAdmin
	logins := func(list []tsclient.User) []string {
		var names []string
		for _, u := range list {
			names = append(names, u.LoginName)
		}
		return names
	}
	inRandomOrder(r,
		func() {
			// Without a type filter, the tailnet's members (as recorded): not the shared-in dana.
			list, err := users.List(ctx, nil, nil)
			want := []string{"amelie@example.com", "bruno@example.com", "carla@example.com", "dmitri@example.com"}
			if ok(t, "List", err) && !sameSet(logins(list), want) {
				t.Errorf("users: %v, want %v", logins(list), want)
			}
		},
		func() {
			list, err := users.List(ctx, &shared, nil)
			if ok(t, "List shared", err) && !slices.Equal(logins(list), []string{"dana@partner.example"}) {
				t.Errorf("shared users: %v", logins(list))
			}
		},
		func() {
			list, err := users.List(ctx, &member, &owner)
			if ok(t, "List member owners", err) && !slices.Equal(logins(list), []string{"amelie@example.com"}) {
				t.Errorf("owners: %v", logins(list))
			}
		},
		func() {
			list, err := users.List(ctx, nil, &admin)
			if ok(t, "List it-admins", err) && !slices.Equal(logins(list), []string{"dmitri@example.com"}) {
				t.Errorf("it-admins: %v", logins(list))
			}
		},
		func() {
			carla, err := users.Get(ctx, "uCa9Rl3CNTRL")
			if ok(t, "Get", err) && (carla.LoginName != "carla@example.com" || carla.Status != tsclient.UserStatusNeedsApproval) {
				t.Errorf("carla: %+v", carla)
			}
		},
		func() {
			_, err := users.Get(ctx, randomName(r, "uNoSuch", 5))
			notFound(t, "Get of an unknown user", err)
		},
	)
}

func emulateLogging(t *testing.T, client *tsclient.Client, r *rand.Rand) {
	logging := client.Logging()
	ctx := context.Background()
	logType := []tsclient.LogType{tsclient.LogTypeConfig, tsclient.LogTypeNetwork}[r.Intn(2)]
	url := "https://splunk.example.com:8088/" + randomName(r, "", 8)

	_, err := logging.LogstreamConfiguration(ctx, logType)
	notFound(t, "LogstreamConfiguration before any", err)
	ok(t, "SetLogstreamConfiguration", logging.SetLogstreamConfiguration(ctx, logType,
		tsclient.SetLogstreamConfigurationRequest{
			DestinationType: tsclient.LogstreamSplunkEndpoint, URL: url, User: "tailscale",
			Token: "splunk-hec-token-for-tests", UploadPeriodMinutes: 1 + r.Intn(10),
			CompressionFormat: tsclient.CompressionFormatGzip,
		}))
	stream, err := logging.LogstreamConfiguration(ctx, logType)
	if ok(t, "LogstreamConfiguration", err) && (stream.URL != url || stream.DestinationType != tsclient.LogstreamSplunkEndpoint) {
		t.Errorf("the stream after setting %s: %+v", url, stream)
	}
	ok(t, "DeleteLogstreamConfiguration", logging.DeleteLogstreamConfiguration(ctx, logType))
	_, err = logging.LogstreamConfiguration(ctx, logType)
	notFound(t, "LogstreamConfiguration after Delete", err)

	external, err := logging.CreateOrGetAwsExternalId(ctx, r.Intn(2) == 0)
	if ok(t, "CreateOrGetAwsExternalId", err) && (external.ExternalID == "" || external.TailscaleAWSAccountID == "") {
		t.Errorf("the AWS external id: %+v", external)
	}
	if external != nil {
		ok(t, "ValidateAWSTrustPolicy", logging.ValidateAWSTrustPolicy(ctx, external.ExternalID,
			"arn:aws:iam::111122223333:role/tailscale-log-writer"))
	}
	// The seed's one flow log, 2026-11-23 09:44 to 09:45, of pangolin.
	var flows []tsclient.NetworkFlowLog
	at := func(m int) time.Time { return time.Date(2026, 11, 23, 9, m, 0, 0, time.UTC) }
	ok(t, "GetNetworkFlowLogs", logging.GetNetworkFlowLogs(ctx,
		tsclient.NetworkFlowLogsRequest{Start: at(40 + r.Intn(4)), End: at(46 + r.Intn(10))},
		func(log tsclient.NetworkFlowLog) error { flows = append(flows, log); return nil }))
	if len(flows) != 1 || flows[0].NodeID != pangolin || len(flows[0].VirtualTraffic) != 1 {
		t.Errorf("the flow logs of the seed's window: %+v", flows)
	}
	flows = nil
	ok(t, "GetNetworkFlowLogs of a later hour", logging.GetNetworkFlowLogs(ctx,
		tsclient.NetworkFlowLogsRequest{Start: at(50), End: at(59)},
		func(log tsclient.NetworkFlowLog) error { flows = append(flows, log); return nil }))
	if len(flows) != 0 {
		t.Errorf("flow logs outside the seed's window: %+v", flows)
	}
}

func emulatePostureIntegrations(t *testing.T, client *tsclient.Client, r *rand.Rand) {
	posture := client.DevicePosture()
	ctx := context.Background()
	uuid := func() string {
		return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", r.Uint32(), r.Intn(1<<16), r.Intn(1<<12), r.Intn(1<<12), r.Int63n(1<<48))
	}
	created, err := posture.CreateIntegration(ctx, tsclient.CreatePostureIntegrationRequest{
		Provider: tsclient.PostureIntegrationProviderIntune, CloudID: "global",
		ClientID: uuid(), TenantID: uuid(), ClientSecret: randomName(r, "secret-", 16),
	})
	if !ok(t, "CreateIntegration", err) {
		return
	}
	list, err := posture.ListIntegrations(ctx)
	if ok(t, "ListIntegrations", err) && (len(list) != 2 ||
		!slices.ContainsFunc(list, func(p tsclient.PostureIntegration) bool { return p.ID == created.ID })) {
		t.Errorf("the seed's falcon and the created %s are not listed: %+v", created.ID, list)
	}
	tenant := uuid()
	_, err = posture.UpdateIntegration(ctx, created.ID, tsclient.UpdatePostureIntegrationRequest{TenantID: tenant})
	ok(t, "UpdateIntegration", err)
	got, err := posture.GetIntegration(ctx, created.ID)
	if ok(t, "GetIntegration", err) && (got.TenantID != tenant || got.ClientID != created.ClientID) {
		t.Errorf("the integration after updating its tenant to %s: %+v", tenant, got)
	}
	ok(t, "DeleteIntegration", posture.DeleteIntegration(ctx, created.ID))
	_, err = posture.GetIntegration(ctx, created.ID)
	notFound(t, "GetIntegration after Delete", err)
}

func emulateServices(t *testing.T, client *tsclient.Client, r *rand.Rand) {
	services := client.Services()
	ctx := context.Background()
	name := randomName(r, "svc:web", 6)
	service := tsclient.Service{Name: name, Comment: randomName(r, "", 12), Ports: []string{"tcp:443"}, Tags: []string{"tag:server"}}

	ok(t, "CreateOrUpdate", services.CreateOrUpdate(ctx, service))
	got, err := services.Get(ctx, name)
	if !ok(t, "Get", err) {
		return
	}
	if got.Comment != service.Comment || len(got.Addrs) == 0 {
		t.Errorf("the created service %s: %+v", name, got)
	}
	list, err := services.List(ctx)
	if ok(t, "List", err) && len(list) != 2 {
		t.Errorf("the seed's svc:grafana and %s should be listed: %+v", name, list)
	}
	got.Comment = randomName(r, "", 12)
	got.Ports = []string{"tcp:443", "tcp:80"}
	ok(t, "CreateOrUpdate of the existing service", services.CreateOrUpdate(ctx, *got))
	updated, err := services.Get(ctx, name)
	if ok(t, "Get after update", err) && (updated.Comment != got.Comment || !sameSet(updated.Ports, got.Ports)) {
		t.Errorf("the service after update to %+v: %+v", got, updated)
	}
	ok(t, "Delete", services.Delete(ctx, name))
	_, err = services.Get(ctx, name)
	notFound(t, "Get after Delete", err)
}
