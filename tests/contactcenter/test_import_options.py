"""What an Importer may declare beyond its columns: an options form on the upload page, other
columns kept, column aliases, and files without a header row."""

from __future__ import annotations

import io

import pytest
from django import forms
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from contactcenter import registry, services
from contactcenter.jobs import files
from contactcenter.jobs.importing import BatchResult, Column, Importer, run_import
from contactcenter.models import Job, User

pytestmark = pytest.mark.usefixtures("english")

TARGET = "tests.probe"
URL = reverse("import_start", args=[TARGET])


class OwnerForm(forms.Form):
    owner = forms.ModelChoiceField(queryset=User.objects.none(), label="Owner")

    def __init__(self, *args, tenant, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = User.objects.filter(tenant=tenant)

    def clean_owner(self) -> int:
        return self.cleaned_data["owner"].pk


class ProbeImporter(Importer):
    """Writes nothing; remembers the params and rows it was given."""

    target = TARGET
    verbose_name = "probes"
    permission = "addressbook.import_externalcontact"
    columns = (Column("Name", required=True), Column("Phone", aliases=("numero", "tel")))
    options_form = OwnerForm
    seen: list = []

    def clean_row(self, values: dict[str, str]) -> dict[str, str]:
        return values

    def write_batch(self, rows):
        ProbeImporter.seen += [(self.job.options["params"], row) for _line, row in rows]
        return BatchResult(created=len(rows))


class KeepingImporter(ProbeImporter):
    options_form = None
    other_columns_kept_as = "extras"


@pytest.fixture(autouse=True)
def probe(monkeypatch):
    monkeypatch.setitem(registry.importers, TARGET, ProbeImporter)
    ProbeImporter.seen = []


def post(client, data: bytes = b"Name\r\nAda\r\n", **options):
    return client.post(URL, {"file": SimpleUploadedFile("p.csv", data), **options})


# --- the options form ---------------------------------------------------------------------------


def test_upload_page_shows_the_options_above_the_file(client_for, supervisor):
    text = client_for(supervisor).get(URL).content.decode()
    assert 'id="id_owner"' in text and text.index('id="id_owner"') < text.index('id="id_file"')


def test_a_link_may_preset_the_options(client_for, supervisor):
    response = client_for(supervisor).get(URL, {"owner": supervisor.pk})
    assert response.context["options_form"]["owner"].value() == str(supervisor.pk)


def test_cleaned_options_reach_the_job_and_its_importer(
    client_for, supervisor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client_for(supervisor), owner=supervisor.pk)
    job = Job.objects.get()
    assert (response.url, job.options["params"]) == (
        job.get_absolute_url(),
        {"owner": supervisor.pk},
    )
    assert ProbeImporter.seen == [({"owner": supervisor.pk}, {"Name": "Ada", "Phone": ""})]


def test_another_tenants_id_is_a_form_error_and_nothing_is_queued(client_for, supervisor, outsider):
    response = post(client_for(supervisor), owner=outsider.pk)
    assert response.status_code == 400
    assert "owner" in response.context["options_form"].errors
    assert not Job.objects.exists()


def test_options_and_file_errors_show_at_once(client_for, supervisor):
    response = client_for(supervisor).post(URL, {"owner": ""})
    assert response.status_code == 400
    assert response.context["options_form"].errors and response.context["form"].errors
    assert not Job.objects.exists()


def test_a_bad_file_is_refused_even_with_good_options(client_for, supervisor):
    response = post(client_for(supervisor), b"Phone\r\n0612345678\r\n", owner=supervisor.pk)
    assert response.status_code == 400 and not Job.objects.exists()


def test_importers_without_options_have_no_options_form(client_for, supervisor):
    response = client_for(supervisor).get(
        reverse("import_start", args=["addressbook.externalcontact"])
    )
    assert response.context["options_form"] is None


def test_a_job_started_without_params_has_empty_params(supervisor):
    upload = SimpleUploadedFile("p.csv", b"Name\r\nAda\r\n")
    job = services.job_start_import(user=supervisor, target=TARGET, upload=upload)
    assert job.options["params"] == {}


# --- other columns, aliases ----------------------------------------------------------------------


def test_unknown_columns_are_ignored_unless_the_importer_keeps_them():
    header = ["Name", "Company", "Fax"]
    assert ProbeImporter.map_header(header) == ({"Name": 0}, [], ["Company", "Fax"])
    kept = {"Name": 0, "Company": 1, "Fax": 2}
    assert KeepingImporter.map_header(header) == (kept, [], ["Company", "Fax"])


def test_kept_columns_reach_clean_row_and_are_listed_on_the_job(monkeypatch, supervisor):
    monkeypatch.setitem(registry.importers, TARGET, KeepingImporter)
    upload = SimpleUploadedFile("p.csv", b"Name;Company\r\nAda;ACME\r\n")
    job = services.job_start_import(user=supervisor, target=TARGET, upload=upload)
    run_import(str(job.pk))
    assert job.options["kept_columns"] == ["Company"] and "ignored_columns" not in job.options
    assert ProbeImporter.seen == [({}, {"Name": "Ada", "Phone": "", "Company": "ACME"})]


@pytest.mark.parametrize(
    ("header", "positions"),
    [
        (["name", "NUMERO"], {"Name": 0, "Phone": 1}),
        (["tel", "Name", "Phone"], {"Name": 1, "Phone": 2}),
    ],
)
def test_aliases_name_a_column_and_its_own_name_wins(header, positions):
    assert ProbeImporter.map_header(header)[0] == positions


# --- files without a header row ------------------------------------------------------------------


def numbers_only(first_row: list[str]) -> list[str] | None:
    return ["Phone"] if first_row[0].isdigit() else None


def test_headerless_file_is_read_from_its_first_line(tmp_path):
    path = tmp_path / "numbers.csv"
    path.write_bytes(b"0612345678\r\n\r\n0612345679\r\n")
    with open(path, "rb") as stream:
        table = files.inspect(stream, "numbers.csv", path.stat().st_size, numbers_only)
    assert (table.header, table.has_header) == (["Phone"], False)
    assert files.scan(str(path), table).rows == 2
    assert list(files.rows(str(path), table)) == [(1, ["0612345678"]), (3, ["0612345679"])]


def test_a_first_row_the_importer_does_not_recognise_stays_the_header():
    table = files.inspect(io.BytesIO(b"Phone\r\n0612345678\r\n"), "p.csv", 20, numbers_only)
    assert (table.header, table.has_header) == (["Phone"], True)


def test_without_the_importers_say_a_headerless_file_is_refused(supervisor):
    upload = SimpleUploadedFile("p.csv", b"0612345678\r\n0612345679\r\n")
    with pytest.raises(files.FileRejected, match="The file has no “Name” column"):
        services.job_start_import(
            user=supervisor, target="addressbook.externalcontact", upload=upload
        )


def test_tables_saved_before_has_header_existed_still_have_a_header():
    assert files.Table(format="csv", header=["Name"], encoding="utf-8", delimiter=",").has_header


def test_agent_may_not_open_the_upload_page(client_for, agent):
    assert client_for(agent).get(URL).status_code == 403
