"""Forms of the reconciliation pages: they parse input; the services decide."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from reconciliation import layouts
from reconciliation.models import ExceptionKind, LayoutChoice, ReconciliationSettings, Resolution, ResolutionReason
from reconciliation.services.importing import MAX_FILE_BYTES
from reconciliation.services.resolution import MAX_COMMENT


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("Settlement file"), help_text=_("SIBS_Reconciliation_….csv, optionally PGP-encrypted")
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(_("The file is larger than 1 GB."), code="too_large")
        return upload


class ExceptionFilterForm(forms.Form):
    state = forms.ChoiceField(
        required=False,
        choices=[("open", _("Open")), ("resolved", _("Resolved")), ("", _("All"))],
        label=_("State"),
    )
    kind = forms.MultipleChoiceField(required=False, choices=ExceptionKind.choices, label=_("Kind"))
    store = forms.MultipleChoiceField(required=False, label=_("Store"))
    since = forms.DateField(required=False, label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, stores=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].choices = [(str(s.pk), s.name) for s in stores]


RESOLUTION_CHOICES = [(r.value, r.label) for r in (Resolution.ACCEPTED, Resolution.WRITTEN_OFF)]


class ResolveForm(forms.Form):
    resolution = forms.ChoiceField(
        label=_("Resolution"),
        choices=[(Resolution.MATCHED_MANUALLY.value, Resolution.MATCHED_MANUALLY.label), *RESOLUTION_CHOICES],
        widget=forms.RadioSelect,
    )
    reason = forms.ChoiceField(label=_("Reason"), choices=[("", "—"), *ResolutionReason.choices])
    transaction_id = forms.CharField(label=_("Transaction (SIBS id or order id)"), required=False, max_length=255)
    comment = forms.CharField(
        label=_("Comment"), required=False, max_length=MAX_COMMENT, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, allow_match: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if not allow_match:
            self.fields["resolution"].choices = RESOLUTION_CHOICES
            del self.fields["transaction_id"]


class BulkResolveForm(forms.Form):
    ids = forms.CharField(widget=forms.MultipleHiddenInput, required=False)
    resolution = forms.ChoiceField(label=_("Resolution"), choices=RESOLUTION_CHOICES)
    reason = forms.ChoiceField(label=_("Reason"), choices=[("", "—"), *ResolutionReason.choices])
    comment = forms.CharField(label=_("Comment"), required=False, max_length=MAX_COMMENT)


class ReopenForm(forms.Form):
    comment = forms.CharField(label=_("Comment"), required=False, max_length=MAX_COMMENT)


class SettingsForm(forms.ModelForm):
    """Matching and file reading. The secrets have their own fields: they are never shown back."""

    column_map_text = forms.CharField(
        label=_("Column map"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "column_count=14\ntransaction_id=3\n…"}),
        help_text=_(
            "Only for “Columns mapped by position”: one “field=column” per line (columns count from 1), "
            "and column_count=N for the number of columns in the file."
        ),
    )

    class Meta:
        model = ReconciliationSettings
        fields = ["layout", "tolerance", "expected_business_days"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        column_map = self.instance.column_map or {}
        if column_map:
            lines = [f"column_count={column_map.get('column_count', '')}"]
            lines += [f"{k}={v}" for k, v in (column_map.get("positions") or {}).items()]
            self.fields["column_map_text"].initial = "\n".join(lines)

    def clean_tolerance(self):
        value = self.cleaned_data["tolerance"]
        if value is None or value < 0 or value > 1000:
            raise forms.ValidationError(_("The tolerance is between 0 and 1000."))
        return value

    def clean_expected_business_days(self):
        value = self.cleaned_data["expected_business_days"]
        if value is None or not 0 <= value <= 30:
            raise forms.ValidationError(_("Between 0 and 30 business days."))
        return value

    def clean(self):
        data = super().clean()
        if data.get("layout") != LayoutChoice.CUSTOM:
            data["column_map"] = self.instance.column_map or {}
            return data
        positions: dict[str, int] = {}
        column_count = 0
        for raw in (data.get("column_map_text") or "").splitlines():
            if not raw.strip():
                continue
            name, sep, value = raw.partition("=")
            name, value = name.strip(), value.strip()
            if not sep or not value.isdigit():
                self.add_error("column_map_text", _("Write each line as field=column, e.g. transaction_id=3."))
                return data
            if name == "column_count":
                column_count = int(value)
            else:
                positions[name] = int(value)
        try:
            layouts.custom_layout(column_count=column_count, positions=positions)
        except layouts.LayoutError as exc:
            self.add_error("column_map_text", str(exc))
            return data
        data["column_map"] = {"column_count": column_count, "positions": positions}
        return data


class SftpForm(forms.Form):
    sftp_enabled = forms.BooleanField(label=_("Fetch files from SFTP every hour"), required=False)
    sftp_host = forms.CharField(label=_("Host"), max_length=255, required=False)
    sftp_port = forms.IntegerField(label=_("Port"), min_value=1, max_value=65535, initial=22)
    sftp_username = forms.CharField(label=_("User"), max_length=100, required=False)
    sftp_password = forms.CharField(
        label=_("Password"),
        required=False,
        widget=forms.PasswordInput,
        help_text=_("Leave empty to keep the stored one."),
    )
    sftp_private_key = forms.CharField(
        label=_("Private key (OpenSSH or PEM)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Leave empty to keep the stored one."),
    )
    sftp_remote_dir = forms.CharField(label=_("Remote folder"), max_length=255, required=False, initial="/")
    sftp_pattern = forms.CharField(label=_("File pattern"), max_length=100, initial="SIBS_Reconciliation_*.csv*")
    forget_host_key = forms.BooleanField(
        label=_("Forget the pinned host key (the next connection pins the server's key again)"), required=False
    )

    def clean(self):
        data = super().clean()
        if data.get("sftp_enabled") and not data.get("sftp_host"):
            self.add_error("sftp_host", _("A host is needed to fetch files."))
        return data


class PgpForm(forms.Form):
    pgp_private_key = forms.CharField(
        label=_("PGP private key (ASCII-armoured)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Leave empty to keep the stored one."),
    )
    pgp_passphrase = forms.CharField(label=_("Passphrase"), required=False, widget=forms.PasswordInput)
    remove = forms.BooleanField(label=_("Remove the stored key"), required=False)

    def clean_pgp_private_key(self):
        value = self.cleaned_data.get("pgp_private_key", "").strip()
        if value and "BEGIN PGP PRIVATE KEY BLOCK" not in value:
            raise forms.ValidationError(_("Paste the ASCII-armoured private key (BEGIN PGP PRIVATE KEY BLOCK)."))
        return value
