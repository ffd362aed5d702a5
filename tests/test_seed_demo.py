import io
import json

from django.core.management import call_command
from django.test import TestCase

from accounts.models import Organization, User
from calendars.models import CalendarService
from core.choices import AccessMode


def seed_json() -> dict:
    out = io.StringIO()
    call_command("seed_demo", "--json", stdout=out)
    return json.loads(out.getvalue())


class SeededDemoTests(TestCase):
    """One seeding for the whole class (seeding is the slow part: it runs the directories' first rounds);
    each test starts from it, rolled back after, and seeds again only to see what a second seeding does."""

    demo: dict

    @classmethod
    def setUpTestData(cls) -> None:
        cls.demo = seed_json()

    def test_the_demo_has_a_calendar_service_in_each_mode_and_is_idempotent(self):
        first = self.demo  # a copy: Django's TestCase hands each test its own
        second = seed_json()
        for demo in (first, second):  # fresh tokens on every seeding; everything else stays put
            for user in demo["users"]:
                user.pop("access_token", None)
                user.pop("refresh_token", None)
            demo["integrator"]["enterprise_connect"].pop("access_token")
            demo["integrator"]["enterprise_connect"].pop("refresh_token")
        assert first == second
        acme = Organization.objects.get(name="Acme Corporation")
        assert sorted(
            CalendarService.objects.filter(organization=acme).values_list("access_mode", flat=True)
        ) == sorted(AccessMode.values)
        assert Organization.objects.count() == 2
        # The operator and six hand-made people, plus Frank, Hana, Olga, Max and Hank from the directories.
        assert User.objects.count() == 12

    def test_the_json_names_each_user_with_id_organization_and_mode(self):
        demo = self.demo
        users = {user["email"]: user for user in demo["users"]}
        assert users["erin@emea.acme.example"]["access_mode"] == "free_busy"
        assert users["nina@legal.acme.example"]["access_mode"] == "no_access"
        assert users["alice@acme.example"]["organization"] == "Acme Corporation"
        assert all(user["public_id"].startswith("acc_") for user in users.values())
        assert users["bob@acme.example"]["role"] == "owner"
        assert demo["admin_url"].endswith("/admin/")
        consoles = demo["sandbox"]["google_consoles"]
        assert consoles["service_accounts"].endswith("/sandbox/google/cloud/iam-admin/serviceaccounts")
        assert consoles["domain_wide_delegation"].endswith("/sandbox/google/admin-console/ac/owl/domainwidedelegation")
        assert {tenant["name"] for tenant in demo["sandbox"]["tenants"]} == {
            "Acme Corporation",
            "Globex",
            "Acme EMEA",
            "Globex HR",  # SuccessFactors
        }

    def test_demo_users_can_sign_in(self):
        demo = self.demo
        response = self.client.post("/accounts/login/", {"login": "bob@acme.example", "password": demo["password"]})
        assert response.status_code == 302
        assert self.client.get("/admin/").status_code == 200

    def test_the_human_output_says_how_to_log_in(self):
        out = io.StringIO()
        call_command("seed_demo", stdout=out)
        assert "Sign in at" in out.getvalue()
        assert "bob@acme.example" in out.getvalue()

    def test_the_demo_integrator_and_its_tokens_work(self):
        demo = self.demo
        integrator = demo["integrator"]
        assert integrator["redirect_uri"].startswith("http://")
        assert integrator["client_id"] and integrator["client_secret"]
        erin = next(user for user in demo["users"] if user["email"] == "erin@emea.acme.example")
        assert erin["profiles"][0]["provider_name"] == "ms_graph_free_busy"
        assert erin["profiles"][0]["calendar_ids"][0].startswith("cal_")
        response = self.client.get("/v1/userinfo", HTTP_AUTHORIZATION=f"Bearer {erin['access_token']}")
        assert response.status_code == 200
        assert response.json()["sub"] == erin["sub"]
        refreshed = self.client.post(
            "/oauth/token",
            {
                "client_id": integrator["client_id"],
                "client_secret": integrator["client_secret"],
                "grant_type": "refresh_token",
                "refresh_token": erin["refresh_token"],
            },
        )
        assert refreshed.status_code == 200

    def test_the_demo_integrator_page_shows_the_token_request_for_its_code(self):
        demo = self.demo
        home = self.client.get("/").content.decode()
        assert "/oauth/authorize?response_type=code&amp;client_id=" + demo["integrator"]["client_id"] in home

        page = self.client.get("/demo-integrator/callback", {"code": "abc123", "state": "demo"}).content.decode()
        assert "code=abc123" in page
        assert demo["integrator"]["client_secret"] in page
        assert "&quot;redirect_uri&quot;: &quot;" + demo["integrator"]["redirect_uri"] in page

        declined = self.client.get("/demo-integrator/callback", {"error": "access_denied"}).content.decode()
        assert "the person declined (<code>error=access_denied</code>)" in declined

    def test_the_directories_onboard_frank_and_hana_with_profiles_through_acmes_workspace(self):
        demo = self.demo
        users = {user["email"]: user for user in demo["users"]}
        for email in ("frank@acme.example", "hana@acme.example"):
            assert users[email]["organization"] == "Acme Corporation"
            assert users[email]["source"] == "directory"
            assert users[email]["profiles"][0]["provider_name"] == "google"
            assert users[email]["profiles"][0]["calendar_ids"][0].startswith("cal_")
        assert users["max@emea.acme.example"]["profiles"][0]["provider_name"] == "ms_graph_free_busy"

    def test_the_json_lists_each_organizations_directories_with_their_counts(self):
        demo = self.demo
        acme = {entry["provider"]: entry for entry in demo["directories"]["Acme Corporation"]}
        globex = {entry["provider"]: entry for entry in demo["directories"]["Globex"]}
        assert set(acme) == {"google", "microsoft"} and set(globex) == {"google", "successfactors"}
        assert acme["google"]["people_onboarded"] == 5  # Bob, Alice, Frank, Hana and Nina
        assert acme["google"]["rooms"] == 2
        assert acme["microsoft"]["people_onboarded"] == 3
        assert globex["successfactors"]["people_onboarded"] == 3
        assert all(entry["status"] == "active" for entry in [*acme.values(), *globex.values()])
        assert acme["google"]["first_round"].startswith("onboarded 5")

    def test_the_demo_integrator_has_enterprise_connect_for_acme(self):
        first = self.demo["integrator"]["enterprise_connect"]
        enterprise = seed_json()["integrator"]["enterprise_connect"]
        assert enterprise["organization"] == "Acme Corporation"
        headers = {"HTTP_AUTHORIZATION": f"Bearer {enterprise['access_token']}"}
        userinfo = self.client.get("/v1/userinfo", **headers).json()
        assert userinfo["cronofy.type"] == "service_account"
        assert userinfo["sub"] == enterprise["service_account_id"] == first["service_account_id"]
        assert userinfo["cronofy.data"]["authorization"]["delegated_scope"] == "read_write free_busy_write"
        assert self.client.get("/v1/resources", **headers).status_code == 200
        # A new seeding's token replaces the last one.
        stale = {"HTTP_AUTHORIZATION": f"Bearer {first['access_token']}"}
        assert self.client.get("/v1/userinfo", **stale).status_code == 401

    def test_the_json_lists_each_persons_conferencing_profiles(self):
        users = {user["email"]: user for user in self.demo["users"]}
        providers = {
            email: sorted(profile["provider_name"] for profile in user["conferencing_profiles"])
            for email, user in users.items()
        }
        assert providers["nina@legal.acme.example"] == ["google_meet", "zoom"]  # Zoom is the default, Meet too
        assert providers["erin@emea.acme.example"] == ["zoom"]  # not in Acme's Google Workspace
        assert providers["charlie@globex.example"] == []
        assert all(
            profile["profile_id"].startswith("pro_") for profile in users["alice@acme.example"]["conferencing_profiles"]
        )
