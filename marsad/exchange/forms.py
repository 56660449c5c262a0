from django import forms
from django.utils.translation import gettext_lazy as _

from .uploads import MAX_BYTES


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("Fichier CSV ou XLSX"),
        help_text=_("Le modèle à télécharger ci-dessus ; 1 000 lignes et 10 Mo au plus."),
    )
    dry_run = forms.BooleanField(
        label=_("Vérifier seulement (rien n'est enregistré)"), required=False, initial=False
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(_("Le fichier dépasse 10 Mo."))
        return upload
