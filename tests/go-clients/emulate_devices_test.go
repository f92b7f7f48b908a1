package goclients

import (
	"context"
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"
	"time"

	tsclient "tailscale.com/client/tailscale/v2"

	"tailtape/tailtapetest"
)

// The emulate areas of devices, keys, OAuth clients and the policy file (emulate_test.go runs
// them). The seed's devices: pangolin (n5SUKe8CNTRL, tag:server, advertising 10.0.0.0/16 and
// 192.168.1.0/24), armadillo (nK7Pq3aCNTRL, not authorized) and otter (nX2wYz9CNTRL); its
// policy's tagOwners own tag:server and tag:laptop.

const (
	pangolin  = "n5SUKe8CNTRL"
	armadillo = "nK7Pq3aCNTRL"
	otter     = "nX2wYz9CNTRL"
)

func emulateDevices(t *testing.T, client *tsclient.Client, r *rand.Rand) {
	devices := client.Devices()
	ctx := context.Background()

	all, err := devices.ListWithAllFields(ctx)
	if ok(t, "ListWithAllFields", err) && len(all) != 3 {
		t.Errorf("the seed has 3 devices, listed %d", len(all))
	}
	some, err := devices.List(ctx, tsclient.WithFields(tsclient.IncludeFieldsDefault))
	if ok(t, "List", err) && len(some) != len(all) {
		t.Errorf("List gave %d devices, ListWithAllFields %d", len(some), len(all))
	}
	get := func(id string) *tsclient.Device {
		t.Helper()
		d, err := devices.GetWithAllFields(ctx, id)
		if !ok(t, "GetWithAllFields "+id, err) {
			return &tsclient.Device{}
		}
		return d
	}
	inRandomOrder(r,
		func() {
			ok(t, "SetAuthorized", devices.SetAuthorized(ctx, armadillo, true))
			if d := get(armadillo); !d.Authorized {
				t.Errorf("armadillo is not authorized after SetAuthorized: %+v", d)
			}
		},
		func() {
			name := randomName(r, "gw-", 6)
			ok(t, "SetName", devices.SetName(ctx, pangolin, name))
			if d := get(pangolin); d.Name != name && !strings.HasPrefix(d.Name, name+".") {
				t.Errorf("pangolin's name after SetName %q: %q", name, d.Name)
			}
			notFound(t, "SetName of an unknown device", devices.SetName(ctx, "nNoSuchCNTRL", name))
		},
		func() {
			tags := []string{"tag:laptop"}
			if r.Intn(2) == 0 {
				tags = append(tags, "tag:server")
			}
			ok(t, "SetTags", devices.SetTags(ctx, armadillo, tags))
			if d := get(armadillo); !sameSet(d.Tags, tags) {
				t.Errorf("armadillo's tags after SetTags %v: %v", tags, d.Tags)
			}
			refusedWith(t, "SetTags with an unowned tag", 400,
				devices.SetTags(ctx, armadillo, []string{randomName(r, "tag:unowned", 5)}))
		},
		func() {
			advertised := []string{"10.0.0.0/16", "192.168.1.0/24"}
			enable := advertised[:1+r.Intn(2)]
			ok(t, "SetSubnetRoutes", devices.SetSubnetRoutes(ctx, pangolin, enable))
			routes, err := devices.SubnetRoutes(ctx, pangolin)
			if ok(t, "SubnetRoutes", err) && (!sameSet(routes.Enabled, enable) || !sameSet(routes.Advertised, advertised)) {
				t.Errorf("pangolin's routes after enabling %v: %+v", enable, routes)
			}
			_, err = devices.SubnetRoutes(ctx, "nNoSuchCNTRL")
			notFound(t, "SubnetRoutes of an unknown device", err)
		},
		func() {
			disabled := r.Intn(2) == 0
			ok(t, "SetKey", devices.SetKey(ctx, armadillo, tsclient.DeviceKey{KeyExpiryDisabled: disabled}))
			if d := get(armadillo); d.KeyExpiryDisabled != disabled {
				t.Errorf("armadillo's keyExpiryDisabled after SetKey %v: %v", disabled, d.KeyExpiryDisabled)
			}
		},
		func() {
			address := fmt.Sprintf("100.80.%d.%d", r.Intn(200), 1+r.Intn(250))
			ok(t, "SetIPv4Address", devices.SetIPv4Address(ctx, otter, address))
			if d := get(otter); !slices.Contains(d.Addresses, address) {
				t.Errorf("otter's addresses after SetIPv4Address %s: %v", address, d.Addresses)
			}
		},
	)
	// otter is shared in from another tailnet: the API refuses to delete it, as recorded.
	refusedWith(t, "Delete of a shared-in device", 501, devices.Delete(ctx, otter))
	ok(t, "Delete", devices.Delete(ctx, armadillo))
	_, err = devices.Get(ctx, armadillo)
	notFound(t, "Get after Delete", err)
	all, err = devices.ListWithAllFields(ctx)
	if ok(t, "ListWithAllFields after Delete", err) &&
		slices.ContainsFunc(all, func(d tsclient.Device) bool { return d.NodeID == armadillo }) {
		t.Errorf("the deleted device is still listed")
	}
}

func emulatePostureAttributes(t *testing.T, client *tsclient.Client, r *rand.Rand) {
	devices := client.Devices()
	ctx := context.Background()
	key := randomName(r, "custom:check", 6)
	value := float64(r.Intn(1000))
	expiry := time.Date(2027, time.Month(1+r.Intn(12)), 1+r.Intn(28), 0, 0, 0, 0, time.UTC)

	ok(t, "SetPostureAttribute", devices.SetPostureAttribute(ctx, pangolin, key,
		tsclient.DevicePostureAttributeRequest{
			Value:   value,
			Expiry:  tsclient.Time{Time: expiry},
			Comment: "set by the Go emulate test",
		}))
	attributes, err := devices.GetPostureAttributes(ctx, pangolin)
	if ok(t, "GetPostureAttributes", err) {
		if attributes.Attributes[key] != value {
			t.Errorf("%s reads back %v, want %v", key, attributes.Attributes[key], value)
		}
		if got := attributes.Expiries[key].Time; !got.Equal(expiry) {
			t.Errorf("%s's expiry reads back %v, want %v", key, got, expiry)
		}
		if attributes.Attributes["node:os"] != "linux" {
			t.Errorf("the seed's node:os is gone: %v", attributes.Attributes)
		}
	}
	ok(t, "DeletePostureAttribute", devices.DeletePostureAttribute(ctx, pangolin, key))
	attributes, err = devices.GetPostureAttributes(ctx, pangolin)
	if ok(t, "GetPostureAttributes after delete", err) {
		if _, still := attributes.Attributes[key]; still {
			t.Errorf("%s is still there after DeletePostureAttribute", key)
		}
	}
	_, err = devices.GetPostureAttributes(ctx, "nNoSuchCNTRL")
	notFound(t, "GetPostureAttributes of an unknown device", err)
}

func emulateKeys(t *testing.T, client *tsclient.Client, r *rand.Rand) {
	keys := client.Keys()
	ctx := context.Background()
	created := map[string]string{} // id → description
	for i := range 3 + r.Intn(3) {
		request := tsclient.CreateKeyRequest{
			ExpirySeconds: int64(600 + r.Intn(86400)),
			Description:   randomName(r, "ci-", 8),
		}
		request.Capabilities.Devices.Create.Reusable = r.Intn(2) == 0
		request.Capabilities.Devices.Create.Ephemeral = r.Intn(2) == 0
		request.Capabilities.Devices.Create.Preauthorized = r.Intn(2) == 0
		request.Capabilities.Devices.Create.Tags = []string{"tag:server"}
		create := keys.CreateAuthKey
		if i == 0 {
			create = keys.Create // the deprecated name of the same call
		}
		key, err := create(ctx, request)
		if !ok(t, "CreateAuthKey", err) {
			continue
		}
		if key.Key == "" || key.Description != request.Description || key.KeyType != "auth" {
			t.Errorf("the created key: %+v", key)
		}
		created[key.ID] = request.Description
	}
	ids := make([]string, 0, len(created))
	for id := range created {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	r.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })

	listed := func(all bool) []string {
		list, err := keys.List(ctx, all)
		ok(t, fmt.Sprintf("List(all=%v)", all), err)
		var ids []string
		for _, k := range list {
			ids = append(ids, k.ID)
		}
		return ids
	}
	for _, all := range []bool{false, true} {
		list := listed(all)
		for _, id := range ids {
			if !slices.Contains(list, id) {
				t.Errorf("the created key %s is not in List(all=%v): %v", id, all, list)
			}
		}
	}
	for _, id := range ids {
		key, err := keys.Get(ctx, id)
		if ok(t, "Get "+id, err) && (key.Description != created[id] || key.Capabilities.Devices.Create.Tags[0] != "tag:server") {
			t.Errorf("key %s reads back %+v, want description %q", id, key, created[id])
		}
	}
	gone := ids[:len(ids)/2]
	for _, id := range gone {
		ok(t, "Delete "+id, keys.Delete(ctx, id))
	}
	list := listed(true)
	for _, id := range gone {
		if slices.Contains(list, id) {
			t.Errorf("the deleted key %s is still listed", id)
		}
		// A deleted key still reads, revoked and invalid, as the API answers.
		if key, err := keys.Get(ctx, id); err == nil && (!key.Invalid || key.Revoked.IsZero()) {
			t.Errorf("the deleted key %s reads back as valid: %+v", id, key)
		} else if err != nil {
			notFound(t, "Get of a deleted key", err)
		}
	}
	_, err := keys.Get(ctx, "kNoSuchKeyCNTRL")
	notFound(t, "Get of an unknown key", err)
}

func emulateOAuthClients(t *testing.T, client *tsclient.Client, r *rand.Rand) {
	keys := client.Keys()
	ctx := context.Background()
	description := randomName(r, "tf-", 8)

	created, err := keys.CreateOAuthClient(ctx, tsclient.CreateOAuthClientRequest{
		Scopes: []string{"devices:core", "dns"}, Tags: []string{"tag:server"}, Description: description,
	})
	if !ok(t, "CreateOAuthClient", err) {
		return
	}
	if created.KeyType != "client" || !strings.HasPrefix(created.Key, "tskey-client-") {
		t.Errorf("the created OAuth client: %+v", created)
	}
	widened := randomName(r, "tf-", 8)
	set, err := keys.SetOAuthClient(ctx, created.ID, tsclient.SetOAuthClientRequest{
		Scopes: []string{"devices:core", "dns", "policy_file"}, Tags: []string{"tag:server"}, Description: widened,
	})
	if ok(t, "SetOAuthClient", err) && (!sameSet(set.Scopes, []string{"devices:core", "dns", "policy_file"}) || set.Description != widened) {
		t.Errorf("SetOAuthClient answered %+v", set)
	}
	got, err := keys.Get(ctx, created.ID)
	if ok(t, "Get of the OAuth client", err) && (got.Description != widened || len(got.Scopes) != 3) {
		t.Errorf("the OAuth client reads back %+v", got)
	}

	ok(t, "Delete of the OAuth client", keys.Delete(ctx, created.ID))
}

// TestEmulateV2DeviceFilters lists devices through the client's WithFilter, the documented
// `<field>=<value>` filters of listTailnetDevices (an AND of exact matches; a list field must
// hold every value).
func TestEmulateV2DeviceFilters(t *testing.T) {
	devices := emulatedClient(tailtapetest.Emulate(t), "").Devices()
	ctx := context.Background()
	for _, c := range []struct {
		filters map[string][]string
		want    []string
	}{
		{map[string][]string{"os": {"linux"}}, []string{"pangolin"}},
		{map[string][]string{"tags": {"tag:server"}, "hostname": {"pangolin"}}, []string{"pangolin"}},
		{map[string][]string{"hostname": {"nothing-by-this-name"}}, nil},
	} {
		var opts []tsclient.ListDevicesOptions
		for key, values := range c.filters {
			opts = append(opts, tsclient.WithFilter(key, values))
		}
		list, err := devices.List(ctx, opts...)
		var got []string
		for _, d := range list {
			got = append(got, d.Hostname)
		}
		if ok(t, fmt.Sprintf("List with %v", c.filters), err) && !slices.Equal(got, c.want) {
			t.Errorf("List with %v: %v, want %v", c.filters, got, c.want)
		}
	}
}

// TestEmulateV2FederatedIdentity creates a federated identity (which has no secret, so its
// create answer has no `key`) and changes its subject.
func TestEmulateV2FederatedIdentity(t *testing.T) {
	srv := tailtapetest.Emulate(t)
	r := randomFor(t)
	keys := emulatedClient(srv, "").Keys()
	ctx := context.Background()

	federated, err := keys.CreateFederatedIdentity(ctx, tsclient.CreateFederatedIdentityRequest{
		Scopes: []string{"devices:core"}, Tags: []string{"tag:server"},
		Issuer: "https://token.actions.githubusercontent.com", Subject: "repo:example/" + randomName(r, "", 6) + ":*",
		Description: randomName(r, "gha-", 6),
		// Not left nil: the client then sends null, which the documented schema refuses.
		CustomClaimRules: map[string]string{"repository_owner": "example"},
	})
	if ok(t, "CreateFederatedIdentity", err) {
		subject := "repo:example/" + randomName(r, "", 6) + ":ref:refs/heads/main"
		set, err := keys.SetFederatedIdentity(ctx, federated.ID, tsclient.SetFederatedIdentityRequest{
			Scopes: []string{"devices:core"}, Tags: []string{"tag:server"},
			Issuer: federated.Issuer, Subject: subject, Description: federated.Description,
			CustomClaimRules: map[string]string{"repository_owner": "example"},
		})
		if ok(t, "SetFederatedIdentity", err) && set.Subject != subject {
			t.Errorf("SetFederatedIdentity answered subject %q, want %q", set.Subject, subject)
		}
	}
}

// TestEmulateV2OAuthClient has an OAuth client created through the API call the API as itself:
// the client exchanges its credentials for a token first. The exchange goes through
// http.DefaultClient (the v2 client's OAuth does not use Client.HTTP for it), so it cannot
// carry a tailtape-session header: this test has an emulator of its own, in the default session.
func TestEmulateV2OAuthClient(t *testing.T) {
	srv := tailtapetest.Emulate(t)
	r := randomFor(t)
	admin := emulatedClient(srv, "")
	ctx := context.Background()

	created, err := admin.Keys().CreateOAuthClient(ctx, tsclient.CreateOAuthClientRequest{
		Scopes: []string{"devices:core"}, Tags: []string{"tag:server"}, Description: randomName(r, "bot-", 8),
	})
	if !ok(t, "CreateOAuthClient", err) {
		return
	}
	oauth := &tsclient.Client{BaseURL: srv.BaseURL(),
		Auth: &tsclient.OAuth{ClientID: created.ID, ClientSecret: created.Key}}
	devices, err := oauth.Devices().List(ctx)
	if ok(t, "Devices.List as the OAuth client", err) && len(devices) != 3 {
		t.Errorf("the OAuth client lists %d devices, want the seed's 3", len(devices))
	}
	ok(t, "Delete of the OAuth client", admin.Keys().Delete(ctx, created.ID))
	stale := &tsclient.Client{BaseURL: srv.BaseURL(),
		Auth: &tsclient.OAuth{ClientID: created.ID, ClientSecret: created.Key}}
	if _, err := stale.Devices().List(ctx); err == nil || !strings.Contains(err.Error(), "oauth2:") {
		t.Errorf("a deleted OAuth client's token exchange: got %v, want the oauth2 error", err)
	}
}

// policyText is the seed's policy with an extra tag owned by the admins.
func policyText(tag string) string {
	return fmt.Sprintf(`// Written by the Go emulate test.
{
  "groups": {"group:admins": ["amelie@example.com"]},
  "tagOwners": {
    "tag:server": ["group:admins"],
    "tag:laptop": ["group:admins"],
    %q: ["group:admins"],
  },
  "hosts": {"office-lan": "192.168.1.0/24"},
  "acls": [
    {"action": "accept", "src": ["group:admins"], "dst": ["*:*"]},
    {"action": "accept", "src": ["autogroup:member"], "dst": ["tag:server:443"]},
  ],
}
`, tag)
}

func emulatePolicyFile(t *testing.T, client *tsclient.Client, r *rand.Rand) {
	policy := client.PolicyFile()
	ctx := context.Background()

	raw, err := policy.Raw(ctx)
	if !ok(t, "Raw", err) {
		return
	}
	if raw.ETag == "" || !strings.Contains(raw.HuJSON, `"tag:server": ["group:admins"]`) {
		t.Errorf("Raw gave ETag %q and %s", raw.ETag, raw.HuJSON)
	}
	acl, err := policy.Get(ctx)
	if ok(t, "Get", err) {
		if acl.ETag != raw.ETag || len(acl.TagOwners["tag:laptop"]) != 1 || len(acl.ACLs) != 2 {
			t.Errorf("Get gave %+v (Raw's ETag %q)", acl, raw.ETag)
		}
	}
	inRandomOrder(r,
		func() {
			ok(t, "Validate of a good policy", policy.Validate(ctx, policyText(randomName(r, "tag:v", 5))))
		},
		func() {
			// Failing tests are a 200 answer with a message; the client makes it an error.
			failing := []tsclient.ACLTest{{Source: "bruno@example.com", Accept: []string{"office-lan:22"}}}
			err := policy.Validate(ctx, failing)
			if err == nil || !strings.Contains(err.Error(), "ACL validation failed: ") || !strings.Contains(err.Error(), "office-lan:22") {
				t.Errorf("Validate of failing tests: got %v, want the client's ACL validation error", err)
			}
		},
		func() {
			refusedWith(t, "Set with a stale If-Match", 412,
				policy.Set(ctx, policyText("tag:stale"), strings.Repeat("0", 64)))
		},
	)
	tag := randomName(r, "tag:t", 6)
	if !ok(t, "Set with the current ETag", policy.Set(ctx, policyText(tag), raw.ETag)) {
		return
	}
	after, err := policy.Raw(ctx)
	if ok(t, "Raw after Set", err) {
		if !strings.Contains(after.HuJSON, tag) || after.ETag == raw.ETag {
			t.Errorf("after Set of %s: ETag %q (was %q), policy %s", tag, after.ETag, raw.ETag, after.HuJSON)
		}
	}
	refusedWith(t, "Set with the ETag of before", 412, policy.Set(ctx, policyText("tag:late"), raw.ETag))

	parsed, err := policy.Get(ctx)
	if !ok(t, "Get after Set", err) {
		return
	}
	second := randomName(r, "tag:s", 6)
	parsed.TagOwners[second] = []string{"amelie@example.com"}
	got, err := policy.SetAndGet(ctx, *parsed, parsed.ETag)
	if ok(t, "SetAndGet", err) {
		if len(got.TagOwners[second]) != 1 || len(got.TagOwners[tag]) != 1 || got.ETag == parsed.ETag {
			t.Errorf("SetAndGet of %s gave %+v", second, got)
		}
	}
	ok(t, "Set without If-Match", policy.Set(ctx, policyText(tag), ""))
}

// sameSet reports whether a and b hold the same strings, in any order.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
