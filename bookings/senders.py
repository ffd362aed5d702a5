"""Services for who invitations come from: an organization's own verified domain, or this
installation's address.

An organization's domain is used only after its DNS records check out: the DKIM key published under
the selector (so receivers accept our signature with `d=` its domain and DMARC aligns), and, when
replies should use its own subdomain, an MX record pointing to our reply receiver. Until then, and
for people in no organization, invitations come from INVITATIONS_FROM_EMAIL with the organizer's name
shown, signed with the installation's key.
"""

from __future__ import annotations

from dataclasses import dataclass

import dkim
import dns.exception
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Organization, User
from accounts.services import audit_record
from bookings.dkim_signing import DkimKey, dns_value, generate_private_key, platform_key
from bookings.models import SenderDomain
from calendars.models import Calendar
from core.dns import lookup, resolver
from core.domains import parse_domain_list


@dataclass(frozen=True, slots=True)
class DnsRecord:
    kind: str
    name: str
    value: str
    purpose: str


@dataclass(frozen=True, slots=True)
class Sender:
    from_email: str
    reply_domain: str
    dkim: DkimKey | None


def _one_domain(value: str, field: str) -> str:
    domains = parse_domain_list(value)
    if len(domains) != 1:
        raise ValidationError({field: "Give one domain name, such as acme.example."})
    return domains[0]


def sender_domain_names(domain: str, reply_domain: str) -> tuple[str, str]:
    """The sending domain and the reply domain, normalised; the reply domain must be the sending
    domain or under it (a domain the organization controls)."""
    domain = _one_domain(domain, "domain")
    reply_domain = _one_domain(reply_domain, "reply_domain") if reply_domain.strip() else ""
    if reply_domain and reply_domain != domain and not reply_domain.endswith(f".{domain}"):
        raise ValidationError({"reply_domain": f"Use {domain} or a subdomain of it."})
    return domain, reply_domain


@transaction.atomic
def sender_domain_set(
    *,
    organization: Organization,
    domain: str,
    reply_domain: str = "",
    from_local_part: str = "calendar",
    actor: User | None,
) -> SenderDomain:
    """Configure (or change) an organization's sending domain. A new domain gets a new DKIM key, and
    any change waits for a new DNS check before it is used."""
    domain, reply_domain = sender_domain_names(domain, reply_domain)
    existing = SenderDomain.objects.select_for_update().filter(organization=organization).first()
    if existing is None:
        sender = SenderDomain(organization=organization, dkim_private_key=generate_private_key())
    else:
        sender = existing
        if sender.domain != domain:
            sender.dkim_private_key = generate_private_key()
    changed = existing is None or (sender.domain, sender.reply_domain, sender.from_local_part) != (
        domain,
        reply_domain,
        from_local_part,
    )
    sender.domain, sender.reply_domain, sender.from_local_part = domain, reply_domain, from_local_part
    if changed:
        sender.verified_at, sender.last_check = None, ""
    sender.full_clean(exclude=["dkim_private_key"])
    sender.save()
    if changed:
        audit_record(
            actor=actor,
            target=sender,
            action="sender_domain_set",
            changes={"domain": domain, "reply_domain": reply_domain, "from": sender.from_email},
        )
    return sender


def sender_domain_records(sender: SenderDomain) -> list[DnsRecord]:
    """What the organization's DNS admin publishes."""
    name, value = DkimKey(sender.domain, sender.dkim_selector, sender.dkim_private_key).dns_record()
    records = [DnsRecord("TXT", name, value, "DKIM: lets receivers check our signature for your domain.")]
    if sender.reply_domain:
        records.append(
            DnsRecord("MX", sender.reply_domain, f"10 {settings.INVITATIONS_MX_HOST}.", "Replies reach this system.")
        )
    if settings.INVITATIONS_SPF_INCLUDE:
        records.append(
            DnsRecord(
                "TXT",
                sender.domain,
                f"v=spf1 include:{settings.INVITATIONS_SPF_INCLUDE} ~all",
                "SPF (merge into an existing record): our servers may send for your domain.",
            )
        )
    return records


def sender_domain_verify(*, sender: SenderDomain, actor: User | None = None) -> SenderDomain:
    """Look the records up in DNS; the domain is used for invitations only once all of them match."""
    dns_resolver = resolver()
    found = []
    try:
        dkim_name = f"{sender.dkim_selector}._domainkey.{sender.domain}"
        expected = dns_value(sender.dkim_private_key).replace(" ", "")
        published = [value.replace(" ", "") for value in lookup(dkim_name, "TXT", using=dns_resolver)]
        if expected not in published:
            found.append(f"The DKIM record {dkim_name} is missing or holds another key.")
        if sender.reply_domain:
            exchanges = [
                value.split()[-1].rstrip(".").lower() for value in lookup(sender.reply_domain, "MX", using=dns_resolver)
            ]
            if settings.INVITATIONS_MX_HOST.lower() not in exchanges:
                found.append(f"{sender.reply_domain} has no MX record pointing to {settings.INVITATIONS_MX_HOST}.")
    except dns.exception.DNSException as error:
        found.append(f"DNS could not be asked: {type(error).__name__}.")
    sender.verified_at = None if found else timezone.now()
    sender.last_check = " ".join(found) or "All records found."
    sender.save(update_fields=["verified_at", "last_check", "updated_at"])
    audit_record(actor=actor, target=sender, action="sender_domain_checked", changes={"result": sender.last_check})
    return sender


def organization_of_organizer(calendar: Calendar) -> Organization | None:
    """The organization whose identity an organizer's invitations carry: the one their calendar comes
    through, else the first they belong to."""
    profile = calendar.profile
    if profile.organization_id is not None:
        return profile.organization
    membership = profile.user.memberships.select_related("organization").order_by("pk").first()
    return membership.organization if membership else None


def sender_for(calendar: Calendar) -> Sender:
    organization = organization_of_organizer(calendar)
    sender = (
        SenderDomain.objects.filter(organization=organization, verified_at__isnull=False).first()
        if organization is not None
        else None
    )
    if sender is None:
        return Sender(
            from_email=settings.INVITATIONS_FROM_EMAIL,
            reply_domain=settings.INVITATIONS_REPLY_DOMAIN,
            dkim=platform_key(),
        )
    return Sender(
        from_email=sender.from_email,
        reply_domain=sender.reply_domain or settings.INVITATIONS_REPLY_DOMAIN,
        dkim=DkimKey(sender.domain, sender.dkim_selector, sender.dkim_private_key),
    )


def reply_domains() -> set[str]:
    """Every domain the reply receiver takes mail for."""
    verified = SenderDomain.objects.filter(verified_at__isnull=False).exclude(reply_domain="")
    return {settings.INVITATIONS_REPLY_DOMAIN.lower()} | {
        d.lower() for d in verified.values_list("reply_domain", flat=True)
    }


def dkim_aligned(raw: bytes, *, from_domain: str) -> str:
    """The `d=` of a DKIM signature on the message that verifies (keys looked up in DNS like the sender
    domain checks above) and is aligned with the From domain (the same domain, or one it belongs to,
    as DMARC's relaxed alignment has it); "" when none is."""
    dns_resolver = resolver()

    def txt_record(name: bytes, timeout: int = 5) -> bytes:
        try:
            values = lookup(name.decode().rstrip("."), "TXT", using=dns_resolver)
        except dns.exception.DNSException:
            return b""
        return values[0].encode() if values else b""

    try:
        verifier = dkim.DKIM(raw)
        signatures = len([line for line in verifier.headers if line[0].lower() == b"dkim-signature"])
        for index in range(signatures):
            if not verifier.verify(idx=index, dnsfunc=txt_record):
                continue
            domain = (verifier.domain or b"").decode().lower()
            if domain and (from_domain == domain or from_domain.endswith(f".{domain}")):
                return domain
    except (dkim.DKIMException, ValueError, IndexError):
        return ""
    return ""
