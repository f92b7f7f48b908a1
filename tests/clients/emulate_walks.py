"""Walks of PyPI `tailscale` 1.0.0's methods against `tailtape emulate`, with no cassette: each
walk creates what it needs under random names (from the `random.Random` it is given, so a seed
replays a run), reads it back through the client's models, changes it, deletes it, and checks
the client's own exception on the 404 after. Walks touch disjoint parts of the example tailnet
(seeds/example.json), so they run in any order, or at once in one session.
"""

from __future__ import annotations

import random
import string
from datetime import UTC, datetime

from tailscale import (
    Tailscale,
    TailscaleNotFoundError,
    TailscaleResponseError,
    TailscaleUnauthorizedError,
)
from tailscale.models import (
    DevicePostureAttributeUpdate,
    DNSConfiguration,
    DNSConfigurationPreferences,
    DNSResolver,
    LogStreamConfiguration,
    TailscaleService,
)

#: Devices of the example tailnet: one the walks only change, one the devices walk deletes.
KEPT, DELETED = "n5SUKe8CNTRL", "nK7Pq3aCNTRL"


def name(rng: random.Random, n: int = 8) -> str:
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(n))


async def refused(call, error=TailscaleResponseError, status=None) -> str:
    """Run `call`, which must fail with `error` (and `status`); returns the API's reason."""
    try:
        await call
    except error as err:
        assert status is None or err.status == status, (err.status, err.reason)
        return err.reason
    raise AssertionError(f"{call} succeeded; expected {error.__name__}")


async def devices(api: Tailscale, rng: random.Random) -> None:
    listed = await api.devices()
    assert KEPT in {d.node_id for d in listed.values()}, listed
    for device in listed.values():
        assert (await api.device(device.device_id)).hostname == device.hostname
    host = name(rng)
    await api.rename_device(KEPT, name=host)
    assert (await api.device(KEPT)).name.split(".")[0] == host
    await api.authorize_device(KEPT, authorized=True)
    await api.set_device_tags(KEPT, tags=["tag:server", "tag:laptop"])
    assert sorted((await api.device(KEPT)).tags) == ["tag:laptop", "tag:server"]
    await refused(api.set_device_tags(KEPT, tags=[f"tag:{name(rng)}"]), status=400)
    routes = await api.device_routes(KEPT)
    enabled = rng.sample(routes.advertised_routes, k=1)
    assert (await api.set_device_routes(KEPT, routes=enabled)).enabled_routes == enabled
    assert (await api.device_routes(KEPT)).enabled_routes == enabled
    await api.set_device_key_expiry(KEPT, key_expiry_disabled=True)
    assert (await api.device(KEPT)).key_expiry_disabled is True
    address = f"100.{rng.randint(64, 127)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    await api.set_device_ipv4_address(KEPT, ipv4_address=address)
    assert address in (await api.device(KEPT)).addresses
    attribute = f"custom:{name(rng)}"
    await api.set_device_posture_attribute(KEPT, attribute, value=rng.randint(1, 99))
    assert attribute in (await api.device_posture_attributes(KEPT)).attributes
    await api.delete_device_posture_attribute(KEPT, attribute)
    assert attribute not in (await api.device_posture_attributes(KEPT)).attributes
    await api.update_device_posture_attributes(
        {KEPT: {attribute: DevicePostureAttributeUpdate(value="yes")}}, comment="batch"
    )
    assert (await api.device_posture_attributes(KEPT)).attributes[attribute] == "yes"
    await api.expire_device_key(DELETED)
    await api.delete_device(DELETED)
    await refused(api.device(DELETED), TailscaleNotFoundError)
    await refused(api.device(f"n{name(rng)}CNTRL"), TailscaleNotFoundError)


async def keys(api: Tailscale, rng: random.Random) -> None:
    description = name(rng)
    auth = await api.create_key(
        description=description, reusable=True, tags=["tag:server"], expiry_seconds=3600
    )
    assert auth.key.startswith("tskey-auth-"), auth.key_id
    assert auth.key_id in [k.key_id for k in await api.keys()]
    read = await api.key(auth.key_id)
    assert (read.description, read.key) == (description, "")
    await refused(api.create_key(tags=[f"tag:{name(rng)}"]), status=400)
    client = await api.create_key(
        key_type="client", description=name(rng), scopes=["devices:core"], tags=["tag:server"]
    )
    updated = await api.set_key(
        client.key_id, key_type="client", scopes=["devices:core", "dns"], tags=["tag:server"]
    )
    assert (await api.key(client.key_id)).scopes == updated.scopes == ["devices:core", "dns"]
    for key in (auth, client):
        # As the API does, a deleted key stays readable for a while, revoked.
        await api.delete_key(key.key_id)
        assert (await api.key(key.key_id)).revoked is not None
    await refused(api.key(f"k{name(rng)}CNTRL"), TailscaleNotFoundError)


async def oauth_clients(api: Tailscale, rng: random.Random) -> None:
    """An OAuth client created by the walk, its secret (shown only in the create answer)
    exchanged for a token by a second client, which then works with the client's scopes."""
    created = await api.create_key(
        key_type="client",
        description=name(rng),
        scopes=["devices:core", "dns"],
        tags=["tag:server"],
    )
    assert created.key.startswith("tskey-client-"), created.key_id
    async with Tailscale(
        tailnet="-",
        oauth_client_id=created.key_id,
        oauth_client_secret=created.key,
        session=api.session,
    ) as client:
        assert KEPT in {d.node_id for d in (await client.devices()).values()}
        assert isinstance(await client.split_dns(), dict)
    async with Tailscale(
        tailnet="-",
        oauth_client_id=created.key_id,
        oauth_client_secret=f"tskey-client-{created.key_id}-{name(rng, 24)}",
        session=api.session,
    ) as wrong:
        await refused(wrong.devices(), TailscaleUnauthorizedError)
    await api.delete_key(created.key_id)


async def policy(api: Tailscale, rng: random.Random) -> None:
    current = await api.policy_file()
    assert "tagOwners" in current.policy and current.etag
    group = f"group:{name(rng)}"
    text = current.policy.replace('"groups": {', f'"groups": {{\n    "{group}": [],', 1)
    written = await api.set_policy_file(text, etag=current.etag)
    assert written.etag != current.etag
    read = await api.policy_file()
    assert (read.policy, read.etag) == (text, written.etag)
    await refused(api.set_policy_file(text, etag=current.etag), status=412)
    assert (await api.validate_policy_file(text)).message is None
    failing = [{"src": "bruno@example.com", "accept": ["tag:server:22"]}]
    assert (await api.test_policy_file(failing)).data
    assert not (await api.test_policy_file(failing[:0])).data
    preview = await api.preview_policy_rules(
        text, preview_type="user", preview_for="bruno@example.com"
    )
    assert preview.preview_for == "bruno@example.com"
    assert any("tag:server:443" in m.ports for m in preview.matches), preview


async def dns(api: Tailscale, rng: random.Random) -> None:
    servers = [f"10.{rng.randint(0, 255)}.0.53", "1.1.1.1"]
    assert (await api.set_dns_nameservers(dns=servers)).dns == servers
    assert (await api.dns_nameservers()).dns == servers
    magic = rng.choice([True, False])
    assert (await api.set_dns_preferences(magic_dns=magic)).magic_dns == magic
    assert (await api.dns_preferences()).magic_dns == magic
    paths = [f"{name(rng)}.example.com"]
    assert (await api.set_dns_search_paths(search_paths=paths)).search_paths == paths
    assert (await api.dns_search_paths()).search_paths == paths
    domain = f"{name(rng)}.example.net"
    merged = await api.update_split_dns(split_dns={domain: ["10.9.0.53"]})
    assert merged[domain] == ["10.9.0.53"]
    assert domain not in await api.update_split_dns(split_dns={domain: None})
    await api.set_split_dns(split_dns={domain: ["10.9.0.54"]})
    assert await api.split_dns() == {domain: ["10.9.0.54"]}
    config = await api.dns_configuration()
    assert config.search_paths == paths
    new = DNSConfiguration(
        nameservers=[DNSResolver(address="9.9.9.9", use_with_exit_node=True)],
        preferences=DNSConfigurationPreferences(magic_dns=True, override_local_dns=False),
        search_paths=paths,
        split_dns=config.split_dns,
    )
    assert [n.address for n in (await api.set_dns_configuration(new)).nameservers] == ["9.9.9.9"]
    assert (await api.dns_configuration()).preferences.magic_dns is True


async def settings(api: Tailscale, rng: random.Random) -> None:
    days = rng.randint(1, 180)
    await api.update_tailnet_settings(devices_key_duration_days=days, devices_approval_on=True)
    read = await api.tailnet_settings()
    assert (read.devices_key_duration_days, read.devices_approval_on) == (days, True)
    email = f"{name(rng)}@example.com"
    await api.set_contact("support", email=email)
    await api.resend_contact_verification("support")
    support = (await api.contacts()).support
    assert (support.email, support.needs_verification) == (email, True)


async def users(api: Tailscale, rng: random.Random) -> None:
    members = await api.users()
    assert "bruno@example.com" in [u.login_name for u in members]
    role = rng.choice(["admin", "network-admin", "auditor"])
    await api.set_user_role("uBr8No2CNTRL", role=role)
    assert (await api.user("uBr8No2CNTRL")).role == role
    await api.approve_user("uCa9Rl3CNTRL")
    assert (await api.user("uCa9Rl3CNTRL")).status == "active"
    await api.suspend_user("uDm1Tr4CNTRL")
    assert (await api.user("uDm1Tr4CNTRL")).status == "suspended"
    await api.restore_user("uDm1Tr4CNTRL")
    await api.delete_user("uDm1Tr4CNTRL")
    await refused(api.user("uDm1Tr4CNTRL"), TailscaleNotFoundError)
    email = f"{name(rng)}@example.com"
    invite = await api.create_user_invite(role="member", email=email)
    assert (await api.user_invite(invite.invite_id)).email == email
    assert invite.invite_id in [i.invite_id for i in await api.user_invites()]
    await api.resend_user_invite(invite.invite_id)
    await api.delete_user_invite(invite.invite_id)
    await refused(api.user_invite(invite.invite_id), TailscaleNotFoundError)


async def device_invites(api: Tailscale, rng: random.Random) -> None:
    before = len(await api.device_invites(KEPT))
    email = f"{name(rng)}@example.org"
    invite = await api.create_device_invite(KEPT, email=email, multi_use=rng.random() < 0.5)
    assert len(await api.device_invites(KEPT)) == before + 1
    assert (await api.device_invite(invite.invite_id)).email == email
    await api.resend_device_invite(invite.invite_id)
    await api.delete_device_invite(invite.invite_id)
    await refused(api.device_invite(invite.invite_id), TailscaleNotFoundError)
    shared = await api.accept_device_invite("https://login.tailscale.com/admin/invite/Xy7Zw2Vu")
    assert shared.device.name == "otter"


async def webhooks(api: Tailscale, rng: random.Random) -> None:
    url = f"https://{name(rng)}.example.com/hook"
    hook = await api.create_webhook(endpoint_url=url, subscriptions=["nodeCreated"])
    assert hook.secret and hook.endpoint_url == url
    assert (await api.webhook(hook.endpoint_id)).secret is None
    updated = await api.update_webhook(
        hook.endpoint_id, subscriptions=["nodeCreated", "policyUpdate"]
    )
    assert updated.subscriptions == ["nodeCreated", "policyUpdate"]
    await api.test_webhook(hook.endpoint_id)
    rotated = await api.rotate_webhook_secret(hook.endpoint_id)
    assert rotated.secret and rotated.secret != hook.secret
    assert hook.endpoint_id in [h.endpoint_id for h in await api.webhooks()]
    await api.delete_webhook(hook.endpoint_id)
    await refused(api.webhook(hook.endpoint_id), TailscaleNotFoundError)


async def services(api: Tailscale, rng: random.Random) -> None:
    service = f"svc:{name(rng)}"
    created = await api.set_service(
        TailscaleService(name=service, comment="walk", ports=["tcp:443"], tags=["tag:server"])
    )
    assert created.name == service and created.addrs
    assert (await api.service(service)).comment == "walk"
    assert service in [s.name for s in await api.services()]
    assert not (await api.service_approval(service, KEPT)).approved
    assert (await api.set_service_approval(service, KEPT, approved=True)).approved
    assert (await api.service_approval(service, KEPT)).approved
    await api.delete_service(service)
    await refused(api.service(service), TailscaleNotFoundError)


async def oauth_apps(api: Tailscale, rng: random.Random) -> None:
    app = dict(
        name=name(rng),
        description="walk",
        redirect_uris=[f"https://{name(rng)}.example.com/callback"],
        scopes=["users:read"],
    )
    created = await api.create_oauth_app(**app)
    assert created.client_secret
    assert (await api.oauth_app(created.app_id)).name == app["name"]
    app["scopes"] = ["users:read", "devices:core:read"]
    assert (await api.set_oauth_app(created.app_id, **app)).scopes == app["scopes"]
    assert created.app_id in [a.app_id for a in await api.oauth_apps()]
    await api.delete_oauth_app(created.app_id)
    await refused(api.oauth_app(created.app_id), TailscaleNotFoundError)


async def logging(api: Tailscale, rng: random.Random) -> None:
    await refused(api.log_stream_configuration("network"), TailscaleNotFoundError)
    url = f"https://{name(rng)}.example.com:8088/services/collector"
    await api.set_log_stream_configuration(
        "network",
        LogStreamConfiguration(
            destination_type="splunk", url=url, user="tailscale", token=name(rng, 16)
        ),
    )
    read = await api.log_stream_configuration("network")
    assert (read.destination_type, read.url) == ("splunk", url)
    await api.log_stream_status("network")
    await api.disable_log_streaming("network")
    await refused(api.log_stream_configuration("network"), TailscaleNotFoundError)
    aws = await api.aws_external_id(reusable=rng.random() < 0.5)
    await api.validate_aws_trust_policy(
        aws.external_id, role_arn="arn:aws:iam::111122223333:role/tailscale-log-writer"
    )
    stranger = f"arn:aws:iam::111122223333:role/{name(rng)}"
    await refused(api.validate_aws_trust_policy(aws.external_id, role_arn=stranger))
    day = {"start": datetime(2026, 11, 1, tzinfo=UTC), "end": datetime(2026, 12, 1, tzinfo=UTC)}
    assert isinstance(await api.configuration_audit_logs(**day), list)
    assert isinstance(await api.network_flow_logs(**day), list)


async def posture_integrations(api: Tailscale, rng: random.Random) -> None:
    created = await api.create_posture_integration(
        provider="intune",
        cloud_id="global",
        client_id=f"{name(rng)}-client",
        tenant_id=f"{name(rng)}-tenant",
        client_secret=name(rng, 24),
    )
    assert (await api.posture_integration(created.integration_id)).provider == "intune"
    tenant = f"{name(rng)}-tenant"
    updated = await api.update_posture_integration(created.integration_id, tenant_id=tenant)
    assert updated.tenant_id == tenant
    listed = await api.posture_integrations()
    assert created.integration_id in [p.integration_id for p in listed]
    await api.delete_posture_integration(created.integration_id)
    await refused(api.posture_integration(created.integration_id), TailscaleNotFoundError)


#: Every walk, by name; the tests run them in a seeded random order.
WALKS = {
    walk.__name__: walk
    for walk in [
        devices,
        keys,
        oauth_clients,
        policy,
        dns,
        settings,
        users,
        device_invites,
        webhooks,
        services,
        oauth_apps,
        logging,
        posture_integrations,
    ]
}
