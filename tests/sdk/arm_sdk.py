"""Microsoft's own Python SDKs against the fake cloud, as a user testing their scripts would run
them: sign in with the fake's service principal (MSAL's authority discovery included), register
the providers, create the resource group, then create, get, list, patch and delete (long-running)
a machine, read the 404 afterwards, and leave a second machine for azcm to read.

Environment: FAKE_BASE_URL, FAKE_TENANT_ID, FAKE_CLIENT_ID, FAKE_CLIENT_SECRET,
FAKE_SUBSCRIPTION_ID, FAKE_LOCATION, REQUESTS_CA_BUNDLE (the fake's CA). Prints one JSON
document: what each step saw.
"""

import ipaddress
import json
import os
import socket
import sys

# Loopback only: any name or address that is not loopback fails the run here, before a packet
# leaves (MSAL, for one, asks login.microsoftonline.com unless it is told not to).
_getaddrinfo = socket.getaddrinfo
refused = []


def _loopback_only(host, *args, **kwargs):
    name = host.decode() if isinstance(host, bytes) else str(host)
    try:
        loopback = ipaddress.ip_address(name).is_loopback
    except ValueError:
        loopback = name == "localhost"
    if not loopback:
        refused.append(name)
        raise OSError(f"non-loopback address refused by the test: {name}")
    return _getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _loopback_only

import msal  # noqa: E402 (after the guard)

from azure.core.exceptions import ResourceNotFoundError  # noqa: E402
from azure.identity import ClientSecretCredential
from azure.mgmt.hybridcompute import HybridComputeManagementClient
from azure.mgmt.hybridcompute.models import Machine, MachineUpdate
from azure.mgmt.resource.resources import ResourceManagementClient

env = os.environ
base = env["FAKE_BASE_URL"]
location = env["FAKE_LOCATION"]
subscription = env["FAKE_SUBSCRIPTION_ID"]
group = "sdk-made-rg"
seen = {}

tenant = env["FAKE_TENANT_ID"]
scopes = ["https://management.azure.com/.default"]

# MSAL itself, with the fake's instance discovery endpoint: instance discovery, then the
# tenant's OpenID configuration, then the token.
app = msal.ConfidentialClientApplication(
    env["FAKE_CLIENT_ID"],
    client_credential=env["FAKE_CLIENT_SECRET"],
    authority=f"{base}/{tenant}",
    instance_discovery=f"{base}/common/discovery/instance",
)
answer = app.acquire_token_for_client(scopes=["https://management.core.windows.net//.default"])
seen["msal"] = {"token_type": answer.get("token_type"), "error": answer.get("error")}

# azure-identity as Azure Stack and sovereign-cloud users configure it: an authority host of
# their own, whose OpenID configuration MSAL reads (instance discovery is Microsoft's hosts').
credential = ClientSecretCredential(
    tenant,
    env["FAKE_CLIENT_ID"],
    env["FAKE_CLIENT_SECRET"],
    authority=base,
    disable_instance_discovery=True,
)
seen["token_expires_on"] = credential.get_token(*scopes).expires_on

resources = ResourceManagementClient(credential, subscription, base_url=base, credential_scopes=scopes)
# Registration is asynchronous in ARM: register, then read the provider until it says so.
for namespace in ("Microsoft.HybridCompute", "Microsoft.GuestConfiguration"):
    state = resources.providers.register(namespace).registration_state
    for _ in range(20):
        if state == "Registered":
            break
        state = resources.providers.get(namespace).registration_state
    seen.setdefault("providers", {})[namespace] = state
rg = resources.resource_groups.create_or_update(group, {"location": location})
seen["resource_group"] = {"id": rg.id, "state": rg.properties.provisioning_state}

# Every answer the HybridCompute client reads, raw, for the spec check on the Rust side.
answers = []


def record(response):
    request = response.http_request
    try:
        body = response.http_response.text()
    except Exception:  # a streamed answer (the delete's 202) has no body to check
        body = None
    answers.append({
        "method": request.method,
        "url": request.url,
        "status": response.http_response.status_code,
        "body": body,
    })


compute = HybridComputeManagementClient(
    credential, subscription, base_url=base, credential_scopes=scopes, raw_response_hook=record
)


def summary(machine):
    p = machine
    return {
        "id": p.id,
        "name": p.name,
        "location": p.location,
        "tags": p.tags or {},
        "provisioningState": p.provisioning_state,
        "vmId": p.vm_id,
        "status": p.status,
    }


created = compute.machines.create_or_update(
    group, "sdk-machine-01", Machine(location=location, tags={"made-by": "azure-mgmt-hybridcompute"})
)
seen["created"] = summary(created)
seen["got"] = summary(compute.machines.get(group, "sdk-machine-01"))
seen["listed"] = sorted(m.name for m in compute.machines.list_by_resource_group(group))
patched = compute.machines.update(group, "sdk-machine-01", MachineUpdate(tags={"made-by": "sdk", "patched": "yes"}))
seen["patched"] = summary(patched)
# The fake answers polls with Retry-After: 0, which azure-core reads as "none given" and
# replaces with its 30 s default interval; a short interval of our own keeps the test quick.
poller = compute.machines.begin_delete(group, "sdk-machine-01", polling_interval=0.1)
poller.result()
seen["delete_status"] = poller.status()
try:
    compute.machines.get(group, "sdk-machine-01")
    seen["after_delete"] = "still there"
except ResourceNotFoundError as e:
    seen["after_delete"] = {"status": e.status_code, "code": e.error.code if e.error else None}

kept = compute.machines.create_or_update(group, "sdk-machine-02", Machine(location=location))
seen["kept"] = summary(kept)
seen["listed_in_subscription"] = sorted(m.name for m in compute.machines.list_by_subscription())
seen["refused_addresses"] = refused
seen["answers"] = answers
json.dump(seen, sys.stdout, indent=1, default=str)
