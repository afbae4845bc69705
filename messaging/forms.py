"""Forms of the Messages section. Choice querysets are always the workspace's own."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.html import format_html

from workspaces.forms import ScopedForm as WorkspaceForm

from . import segments_bridge
from .models import EmailTemplate, Layout, MessagingSettings, SmsTemplate, Topic
from .models.audience import SuppressionReason

MONO = {"class": "code", "spellcheck": "false", "rows": 22}


class EmailTemplateForm(WorkspaceForm):
    name = forms.CharField(max_length=120)
    subject = forms.CharField(max_length=300)
    preheader = forms.CharField(
        max_length=300,
        required=False,
        help_text="The line inboxes show after the subject.",
    )
    from_name = forms.CharField(
        max_length=120, required=False, label="Sender name", help_text="Empty: the workspace's."
    )
    from_email = forms.EmailField(
        required=False, label="Sender address", help_text="Empty: the workspace's."
    )
    reply_to = forms.EmailField(required=False, label="Reply-to address")
    layout = forms.ModelChoiceField(queryset=Layout.objects.none(), required=False)
    topic = forms.ModelChoiceField(
        queryset=Topic.objects.none(), required=False, label="Subscription topic"
    )
    html = forms.CharField(widget=forms.Textarea(attrs=MONO), strip=False, label="HTML")
    text = forms.CharField(
        widget=forms.Textarea(attrs={**MONO, "rows": 8}),
        required=False,
        strip=False,
        help_text="Leave empty to generate it from the HTML.",
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["layout"].queryset = Layout.objects.filter(workspace=self.workspace)
        self.fields["layout"].empty_label = "No layout (the HTML carries its own footer)"
        self.fields["topic"].queryset = Topic.objects.filter(workspace=self.workspace)
        self.fields["topic"].empty_label = "Default topic"


class LayoutForm(forms.Form):
    name = forms.CharField(max_length=120)
    html = forms.CharField(widget=forms.Textarea(attrs=MONO), strip=False)


class SmsTemplateForm(WorkspaceForm):
    name = forms.CharField(max_length=120)
    topic = forms.ModelChoiceField(
        queryset=Topic.objects.none(), required=False, label="Subscription topic"
    )
    body = forms.CharField(widget=forms.Textarea(attrs={**MONO, "rows": 6}), strip=False)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["topic"].queryset = Topic.objects.filter(workspace=self.workspace)
        self.fields["topic"].empty_label = "Default topic"


class PreviewForm(forms.Form):
    """Who a live preview or a test send is rendered for: an email or a contact id (empty:
    the sample contact). The view looks the contact up in the workspace."""

    preview_contact = forms.CharField(max_length=254, required=False, label="for contact")


class SmsPreviewForm(PreviewForm):
    """The SMS composer's live preview: the unsaved body as typed."""

    body = forms.CharField(required=False, strip=False)


class TestSendForm(PreviewForm):
    to = forms.CharField(max_length=254, label="Send a test to")


class BroadcastForm(WorkspaceForm):
    name = forms.CharField(
        max_length=150, help_text="For you and your team; recipients never see it."
    )
    channel = forms.ChoiceField(
        choices=[("email", "Email"), ("sms", "SMS"), ("whatsapp", "WhatsApp")]
    )
    segment = forms.TypedChoiceField(
        coerce=int,
        choices=(),
        label="Send to",
        error_messages={"required": "Choose a segment."},
    )
    exclude_segments = forms.TypedMultipleChoiceField(
        coerce=int,
        choices=(),
        required=False,
        label="Leave out",
        widget=forms.CheckboxSelectMultiple(attrs={"class": "check-list"}),
        help_text="Members of any segment ticked here do not receive this broadcast.",
    )
    email_template = forms.ModelChoiceField(
        queryset=EmailTemplate.objects.none(), required=False, label="Email template"
    )
    sms_template = forms.ModelChoiceField(
        queryset=SmsTemplate.objects.none(),
        required=False,
        label="SMS template",
        help_text="For SMS and WhatsApp broadcasts.",
    )
    topic = forms.ModelChoiceField(
        queryset=Topic.objects.none(),
        required=False,
        label="Subscription topic",
        help_text="Contacts who opted out of it are left out. Empty: the template's topic.",
    )
    scheduled_at = forms.DateTimeField(
        required=False,
        label="Send at",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="Empty = send now. Interpreted in the workspace's time zone.",
    )
    local_time = forms.BooleanField(
        required=False, label="Deliver at this time in each contact's time zone"
    )
    sto_enabled = forms.BooleanField(
        required=False, label="Send-time optimisation (each contact's best hour within 24 h)"
    )
    utm_campaign = forms.CharField(
        max_length=100,
        required=False,
        label="Campaign name in links (utm_campaign)",
        help_text="Added to every tracked link. Empty: the broadcast's name.",
    )
    ab_enabled = forms.BooleanField(required=False, label="Test two variants on a sample first")
    ab_sample_percent = forms.IntegerField(
        min_value=2,
        max_value=90,
        initial=20,
        label="Test sample (% of the audience)",
        help_text="Split evenly between the variants; the rest get the winner.",
    )
    ab_wait_minutes = forms.IntegerField(
        min_value=0,
        max_value=7 * 24 * 60,
        initial=240,
        label="Test duration (minutes)",
        help_text="How long to wait for opens and clicks before choosing.",
    )
    ab_metric = forms.ChoiceField(
        choices=[("open", "Open rate"), ("click", "Click rate")],
        initial="click",
        label="Winner by",
    )
    ab_min_recipients = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=1_000_000,
        initial=500,
        label="Minimum recipients per variant",
        help_text=(
            "Below this, or when the variants have as many opens (clicks), no winner is "
            "called: variant A goes to the rest and the page says why."
        ),
    )
    ab_mode = forms.ChoiceField(
        choices=[
            ("fixed", "Test on the sample, then send the winner to the rest"),
            ("smart", "Smart: send in waves, more to the better variant each time"),
        ],
        initial="fixed",
        required=False,
        label="After the test",
        help_text="Smart waves use Thompson sampling on the results so far; each variant "
        "keeps a floor, so its numbers keep improving.",
    )
    ab_waves = forms.IntegerField(
        required=False,
        min_value=2,
        max_value=10,
        initial=4,
        label="Waves (smart, the test included)",
    )
    ab_floor_percent = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=50,
        initial=10,
        label="Least share per variant (smart, %)",
    )
    variant_a_subject = forms.CharField(
        max_length=300,
        required=False,
        label="Variant A subject",
        help_text="Empty: the template's subject.",
    )
    variant_b_subject = forms.CharField(
        max_length=300,
        required=False,
        label="Variant B subject",
        help_text="Empty: the template's subject.",
    )
    variant_b_template = forms.ModelChoiceField(
        queryset=EmailTemplate.objects.none(),
        required=False,
        label="Variant B template",
        help_text="Empty: the same template as A.",
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        templates = EmailTemplate.objects.filter(
            workspace=self.workspace, archived_at__isnull=True, current_version__isnull=False
        )
        self.fields["email_template"].queryset = templates
        self.fields["variant_b_template"].queryset = templates
        self.fields["sms_template"].queryset = SmsTemplate.objects.filter(
            workspace=self.workspace, archived_at__isnull=True
        )
        self.fields["topic"].queryset = Topic.objects.filter(workspace=self.workspace)
        self.fields["email_template"].empty_label = "Choose an email template…"
        self.fields["sms_template"].empty_label = "Choose an SMS template…"
        self.fields["variant_b_template"].empty_label = "Same template as A"
        self.fields["topic"].empty_label = "The template's topic"
        segments = segments_bridge.segment_choices(workspace=self.workspace)
        self.fields["segment"].choices = [("", "Choose a segment…"), *segments]
        self.fields["exclude_segments"].choices = segments


class BroadcastSendForm(forms.Form):
    """The Send button's confirmation: the number of people the page showed (a hidden
    field). Sending goes ahead only while the audience is still that number."""

    recipients = forms.CharField(max_length=20, required=False, strip=False)

    def __init__(self, *args: Any, audience: int | None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.audience = audience

    def clean_recipients(self) -> str:
        confirmed: str = self.cleaned_data["recipients"]
        if self.audience is not None and confirmed != str(self.audience):
            people = "person" if self.audience == 1 else "people"
            named = f", not {int(confirmed):,}" if confirmed.isdigit() else ""
            raise forms.ValidationError(
                f"The audience is now {self.audience:,} {people}{named}: "
                "check it and confirm again."
            )
        return confirmed


class EraseConfirmForm(forms.Form):
    """Erasing a contact asks for their email address (or id, without one) typed out."""

    confirm = forms.CharField(
        max_length=254, required=False, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )

    def __init__(self, *args: Any, expected: str, **kwargs: Any):
        kwargs.setdefault("auto_id", "%s")
        super().__init__(*args, **kwargs)
        self.expected = expected
        self.fields["confirm"].label = format_html("Type <code>{}</code> to confirm", expected)

    def clean_confirm(self) -> str:
        typed: str = self.cleaned_data["confirm"]
        if typed.strip().lower() != self.expected.lower():
            raise forms.ValidationError(
                "Type the contact's email address (or id) to confirm the erasure."
            )
        return typed


class SuppressionForm(forms.Form):
    channel = forms.ChoiceField(choices=[("email", "Email"), ("sms", "SMS")])
    address = forms.CharField(max_length=254)
    reason = forms.ChoiceField(choices=SuppressionReason.choices, initial=SuppressionReason.MANUAL)
    detail = forms.CharField(max_length=500, required=False, label="Note")


class TopicForm(forms.Form):
    name = forms.CharField(max_length=120)
    description = forms.CharField(max_length=300, required=False)


class SettingsForm(forms.ModelForm):
    class Meta:
        model = MessagingSettings
        fields = [
            "physical_address",
            "from_name",
            "from_email",
            "reply_to",
            "email_requires_opt_in",
            "quiet_hours_start",
            "quiet_hours_end",
            "quiet_hours_email",
            "quiet_hours_sms",
            "frequency_cap_count",
            "frequency_cap_days",
            "utm_enabled",
            "utm_source",
            "utm_medium",
            "sms_from",
            "whatsapp_from",
        ]
        labels = {
            "physical_address": "Postal address",
            "from_name": "Sender name",
            "from_email": "Sender address",
            "reply_to": "Reply-to address",
            "email_requires_opt_in": "Email only contacts who opted in",
            "quiet_hours_start": "Quiet hours from",
            "quiet_hours_end": "Quiet hours until",
            "quiet_hours_email": "Hold email during quiet hours",
            "quiet_hours_sms": "Hold SMS during quiet hours",
            "frequency_cap_count": "At most … messages per contact",
            "frequency_cap_days": "… in this many days",
            "utm_enabled": "Add UTM parameters to links",
            "utm_source": "UTM source (utm_source)",
            "utm_medium": "UTM medium (utm_medium)",
            "sms_from": "SMS sender (number or name)",
            "whatsapp_from": "WhatsApp sender number",
        }
        help_texts = {
            "email_requires_opt_in": (
                "Off: email goes to everyone who has not unsubscribed. On: only to contacts "
                "who subscribed (double opt-in where confirmed)."
            ),
            "quiet_hours_start": "In each contact's own time zone; messages wait until it ends.",
            "frequency_cap_count": "0 = no cap.",
            "utm_enabled": "utm_campaign is the broadcast's or workflow's name.",
            "sms_from": "E.164 number (+15555550100) or an alphanumeric sender ID.",
            "whatsapp_from": "E.164 number registered for WhatsApp.",
        }
        widgets = {
            "physical_address": forms.Textarea(attrs={"rows": 3}),
            "quiet_hours_start": forms.TimeInput(attrs={"type": "time"}),
            "quiet_hours_end": forms.TimeInput(attrs={"type": "time"}),
        }


class BrandForm(forms.Form):
    """Messages → Settings → Brand: what block emails take their logo, colours and font from."""

    logo = forms.FileField(
        required=False,
        label="Logo",
        help_text="PNG, JPEG, GIF or WebP; resized to at most 1200 px wide.",
        widget=forms.ClearableFileInput(
            attrs={"accept": "image/png,image/jpeg,image/gif,image/webp"}
        ),
    )
    logo_alt = forms.CharField(
        required=False, max_length=300, label="Logo alt text", help_text="Usually your name."
    )
    remove_logo = forms.BooleanField(required=False, label="Remove the logo")
    primary_color = forms.CharField(
        label="Buttons and links", widget=forms.TextInput({"type": "color"})
    )
    text_color = forms.CharField(label="Text", widget=forms.TextInput({"type": "color"}))
    background_color = forms.CharField(
        label="Background", widget=forms.TextInput({"type": "color"})
    )
    content_color = forms.CharField(label="Content area", widget=forms.TextInput({"type": "color"}))
    font = forms.ChoiceField(label="Font")

    def __init__(self, *args: Any, fonts: tuple[str, ...], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["font"].choices = [(key, key.capitalize()) for key in fonts]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("logo") and not (data.get("logo_alt") or "").strip():
            self.add_error("logo_alt", "Alt text is required with a logo.")
        return data
