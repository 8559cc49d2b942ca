//! The pages in English, German and French. The English text is the key
//! (as gettext does it): a page writes `l.t("Needs review")`, and a
//! language without that entry shows the English. The person's choice
//! (the language menu, kept in a cookie) wins over the browser's
//! `Accept-Language`; English is the default.
//!
//! A test reads the page sources and fails when a text passed to `t`
//! has no German or French entry, so a new text cannot ship untranslated.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

/// The cookie that keeps the language a person picked.
pub const LANG_COOKIE: &str = "apflow_lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    De,
    Fr,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::En, Lang::De, Lang::Fr];

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
            Lang::Fr => "fr",
        }
    }

    /// The language's own name, for the menu.
    pub fn name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::De => "Deutsch",
            Lang::Fr => "Français",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        let primary = code.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        Lang::ALL.into_iter().find(|l| l.code() == primary)
    }

    /// The first language of an `Accept-Language` header apflow speaks,
    /// by the header's weights (`de-CH, fr;q=0.8, en;q=0.5`).
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut wanted: Vec<(f32, Lang)> = header
            .split(',')
            .filter_map(|part| {
                let mut it = part.split(';');
                let lang = Lang::parse(it.next()?)?;
                let q = it
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())?;
                (q > 0.0).then_some((q, lang))
            })
            .collect();
        // Stable: equal weights keep the header's order.
        wanted.sort_by(|a, b| b.0.total_cmp(&a.0));
        wanted.first().map(|(_, l)| *l)
    }

    /// Whether this language has its own words for `en`.
    pub fn has(self, en: &str) -> bool {
        match self {
            Lang::En => true,
            Lang::De => DE.iter().any(|(k, _)| *k == en),
            Lang::Fr => FR.iter().any(|(k, _)| *k == en),
        }
    }

    /// `en` in this language; the English where there is no entry.
    pub fn t(self, en: &'static str) -> &'static str {
        let table = match self {
            Lang::En => return en,
            Lang::De => DE,
            Lang::Fr => FR,
        };
        table.iter().find(|(k, _)| *k == en).map_or(en, |(_, v)| *v)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let chosen = crate::web::auth::cookie(&parts.headers, LANG_COOKIE)
            .as_deref()
            .and_then(Lang::parse);
        let browser = || {
            parts
                .headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Lang::from_accept_language)
        };
        Ok(chosen.or_else(browser).unwrap_or_default())
    }
}

const DE: &[(&str, &str)] = &[
    // Frame
    ("Skip to the content", "Zum Inhalt springen"),
    ("Queue", "Eingang"),
    ("Dashboard", "Übersicht"),
    ("Search invoices", "Rechnungen suchen"),
    (
        "Search: vendor, number, PO, amount",
        "Suche: Lieferant, Nummer, Bestellung, Betrag",
    ),
    ("Log out", "Abmelden"),
    ("Language", "Sprache"),
    ("Switch", "Wechseln"),
    ("Keyboard shortcuts", "Tastenkürzel"),
    ("Close", "Schließen"),
    (
        "show or hide this list",
        "diese Liste zeigen oder schließen",
    ),
    ("go to the queue", "zum Eingang"),
    ("search invoices", "Rechnungen suchen"),
    ("AP clerk", "Kreditorenbuchhaltung"),
    ("approver", "Freigabe"),
    ("finance admin", "Finanzadministration"),
    // Errors and login
    ("Not found", "Nicht gefunden"),
    (
        "There is no such page or invoice here. It may have been mistyped, or the link is old.",
        "Diese Seite oder Rechnung gibt es hier nicht. Vielleicht ein Tippfehler oder ein alter Link.",
    ),
    ("Something went wrong", "Etwas ist schiefgegangen"),
    (
        "apflow could not show this page. Nothing was changed; try again, and tell your admin if it happens again.",
        "apflow konnte diese Seite nicht zeigen. Nichts wurde geändert; versuchen Sie es erneut und melden Sie es, wenn es wieder passiert.",
    ),
    ("Please log in", "Bitte anmelden"),
    ("Your session has ended.", "Ihre Sitzung ist abgelaufen."),
    ("Not allowed", "Nicht erlaubt"),
    ("Not done", "Nicht ausgeführt"),
    ("Too large", "Zu groß"),
    (
        "The file is larger than apflow takes.",
        "Die Datei ist größer, als apflow annimmt.",
    ),
    ("Back to the invoice", "Zurück zur Rechnung"),
    ("To the queue", "Zum Eingang"),
    ("Log in", "Anmelden"),
    ("User name", "Benutzername"),
    ("Password", "Passwort"),
    ("Not saved yet", "Noch nicht gespeichert"),
    (
        "Wrong user name or password.",
        "Benutzername oder Passwort falsch.",
    ),
    (
        "Too many failed logins; wait a little and try again.",
        "Zu viele fehlgeschlagene Anmeldungen; warten Sie kurz und versuchen Sie es erneut.",
    ),
    (
        "Your session ended before this was saved. Here it is as you left it: check it and send it.",
        "Ihre Sitzung endete, bevor dies gespeichert wurde. Hier ist es, wie Sie es verlassen haben: prüfen und absenden.",
    ),
    ("Send it now", "Jetzt absenden"),
    (
        "Drop it and open the invoice",
        "Verwerfen und Rechnung öffnen",
    ),
    (
        "Your session ended, so this was not saved yet. Log in and it is shown again, as you left it.",
        "Ihre Sitzung ist abgelaufen, daher wurde dies noch nicht gespeichert. Melden Sie sich an, dann erscheint es wieder, wie Sie es verlassen haben.",
    ),
    // Queue
    ("All open", "Alle offenen"),
    ("Assigned to me", "Mir zugewiesen"),
    ("Needs review", "Zu prüfen"),
    ("Waiting for my approval", "Wartet auf meine Freigabe"),
    ("On hold", "Zurückgestellt"),
    ("Rejected", "Abgelehnt"),
    ("Scheduled and paid", "Geplant und bezahlt"),
    ("Duplicates", "Dubletten"),
    ("Everything", "Alle"),
    ("Search", "Suche"),
    (
        "vendor, number, PO, amount",
        "Lieferant, Nummer, Bestellung, Betrag",
    ),
    ("Why", "Warum"),
    ("any reason", "jeder Grund"),
    ("Sort by", "Sortieren nach"),
    ("due date", "Fälligkeit"),
    ("amount, largest first", "Betrag, größter zuerst"),
    ("waiting longest", "am längsten wartend"),
    ("Show", "Anzeigen"),
    ("Vendor", "Lieferant"),
    ("Invoice no.", "Rechnungsnr."),
    ("Due", "Fällig"),
    ("Total", "Gesamt"),
    ("Status", "Status"),
    ("Taken by", "Bearbeitet von"),
    ("Waiting", "Wartet"),
    ("Nothing here.", "Hier ist nichts."),
    ("Show more", "Mehr zeigen"),
    (
        " Take an invoice from “All open” to work on it.",
        " Übernehmen Sie eine Rechnung aus „Alle offenen“, um sie zu bearbeiten.",
    ),
    ("Unknown vendor", "Unbekannter Lieferant"),
    ("Add invoices", "Rechnungen hinzufügen"),
    (
        "Drop PDFs, images, e-invoices (XML) or saved mails here, or ",
        "PDFs, Bilder, E-Rechnungen (XML) oder gespeicherte Mails hier ablegen, oder ",
    ),
    ("choose files ", "Dateien wählen "),
    (
        "Documents that could not be processed",
        "Dokumente, die nicht verarbeitet werden konnten",
    ),
    ("File", "Datei"),
    ("Received", "Eingegangen"),
    ("What happened", "Was geschah"),
    (
        "Gave up after several tries",
        "Nach mehreren Versuchen aufgegeben",
    ),
    (
        "Not an invoice apflow can read",
        "Keine Rechnung, die apflow lesen kann",
    ),
    (
        "next / previous invoice in the list",
        "nächste / vorige Rechnung der Liste",
    ),
    ("open the invoice", "Rechnung öffnen"),
    ("under an hour", "unter einer Stunde"),
    // Invoice
    ("← Back to the list", "← Zurück zur Liste"),
    ("Previous", "Vorige"),
    ("Next", "Nächste"),
    ("of", "von"),
    ("Invoice", "Rechnung"),
    ("without a number", "ohne Nummer"),
    ("from", "von"),
    ("an unknown vendor", "einem unbekannten Lieferanten"),
    ("due", "fällig"),
    ("order", "Bestellung"),
    ("none", "keine"),
    ("Nobody has taken it yet", "Noch nicht übernommen"),
    (
        "Being checked again after a change: the reasons below update in a moment.",
        "Nach einer Änderung wird erneut geprüft: die Gründe unten werden gleich aktualisiert.",
    ),
    ("Duplicate of", "Dublette von"),
    ("invoice #", "Rechnung Nr. "),
    ("; it will not be paid.", "; sie wird nicht bezahlt."),
    ("Payment", "Zahlung"),
    ("on", "am"),
    ("Why it needs a person", "Warum ein Mensch gebraucht wird"),
    ("What the checks found", "Was die Prüfungen fanden"),
    ("What next", "Wie weiter"),
    ("Take it", "Übernehmen"),
    ("Give it to", "Übergeben an"),
    ("Assign", "Zuweisen"),
    (
        "Comment for the approver (required)",
        "Kommentar für die Freigabe (Pflicht)",
    ),
    ("Send to approval", "Zur Freigabe senden"),
    ("Send and next", "Senden und weiter"),
    ("Why on hold", "Warum zurückgestellt"),
    ("Put on hold", "Zurückstellen"),
    ("Why rejected", "Warum abgelehnt"),
    ("Reject", "Ablehnen"),
    (
        "Reject this invoice? It will not be paid (an approver can undo it today).",
        "Diese Rechnung ablehnen? Sie wird nicht bezahlt (die Freigabe kann das heute rückgängig machen).",
    ),
    ("Duplicate of invoice #", "Dublette von Rechnung Nr."),
    ("Mark duplicate", "Als Dublette markieren"),
    (
        "Mark as a duplicate? It will not be paid (an approver can undo it today).",
        "Als Dublette markieren? Sie wird nicht bezahlt (die Freigabe kann das heute rückgängig machen).",
    ),
    ("Back to the review queue", "Zurück in die Prüfung"),
    ("Comment (optional)", "Kommentar (optional)"),
    ("Approve", "Freigeben"),
    ("Approve and next", "Freigeben und weiter"),
    (
        "Reject this invoice? It will not be paid (you can undo it today).",
        "Diese Rechnung ablehnen? Sie wird nicht bezahlt (Sie können das heute rückgängig machen).",
    ),
    (
        "Undo: back to the review queue",
        "Rückgängig: zurück in die Prüfung",
    ),
    ("Why reopen", "Warum wieder öffnen"),
    ("Reopen for review", "Zur Prüfung wieder öffnen"),
    ("Waiting for an approver.", "Wartet auf die Freigabe."),
    (
        "A clerk reviews it first.",
        "Zuerst prüft die Kreditorenbuchhaltung.",
    ),
    ("Fields", "Felder"),
    (
        "Change a value and save; amounts as 1.234,56 or 1234.56, dates as 31.12.2026 or 2026-12-31. Click a word on the page to take it.",
        "Wert ändern und speichern; Beträge als 1.234,56 oder 1234.56, Daten als 31.12.2026 oder 2026-12-31. Ein Wort auf der Seite anklicken übernimmt es.",
    ),
    ("Field", "Feld"),
    ("Value", "Wert"),
    ("Read with", "Gelesen mit"),
    ("show on the page", "auf der Seite zeigen"),
    ("certain", "sicher"),
    ("low", "niedrig"),
    ("not found", "nicht gefunden"),
    ("Save changes", "Änderungen speichern"),
    ("Save and next", "Speichern und weiter"),
    ("Line items", "Positionen"),
    ("Remove", "Entfernen"),
    ("Save lines", "Positionen speichern"),
    (
        "Fill the empty rows to add lines; tick Remove to drop one.",
        "Leere Zeilen ausfüllen, um Positionen hinzuzufügen; Entfernen ankreuzen, um eine zu streichen.",
    ),
    ("Description", "Beschreibung"),
    ("Quantity", "Menge"),
    ("Unit price", "Einzelpreis"),
    ("Amount", "Betrag"),
    ("Notes", "Notizen"),
    ("No notes yet.", "Noch keine Notizen."),
    (
        "Add a note (@name tells a colleague)",
        "Notiz hinzufügen (@Name benachrichtigt)",
    ),
    ("Add note", "Notiz hinzufügen"),
    ("Changed by people", "Von Menschen geändert"),
    ("Was", "Vorher"),
    ("Now", "Jetzt"),
    ("By", "Von"),
    ("When", "Wann"),
    ("(moves money)", "(betrifft Zahlung)"),
    ("Bank account", "Bankverbindung"),
    (
        "This invoice asks to be paid to ",
        "Diese Rechnung soll bezahlt werden an ",
    ),
    (
        "a verified account of the vendor",
        "ein geprüftes Konto des Lieferanten",
    ),
    (
        "NOT a verified account of the vendor",
        "KEIN geprüftes Konto des Lieferanten",
    ),
    ("Known accounts", "Bekannte Konten"),
    ("State", "Stand"),
    ("How", "Wie"),
    (
        "Call the vendor on a number you already had (never one printed on this invoice) before you verify.",
        "Rufen Sie den Lieferanten unter einer bekannten Nummer an (nie einer auf dieser Rechnung), bevor Sie bestätigen.",
    ),
    ("Verify this bank account", "Dieses Konto bestätigen"),
    ("Why refused", "Warum abgelehnt"),
    ("Refuse it", "Ablehnen"),
    ("Against purchase order", "Gegen Bestellung"),
    ("Invoice line", "Rechnungsposition"),
    ("Billed", "Berechnet"),
    ("Order line", "Bestellposition"),
    ("Order price", "Bestellpreis"),
    ("Ordered", "Bestellt"),
    ("Billed before", "Zuvor berechnet"),
    ("History", "Verlauf"),
    ("Who", "Wer"),
    ("What", "Was"),
    ("Detail", "Einzelheiten"),
    ("Document", "Dokument"),
    ("The XML as received", "Das XML wie empfangen"),
    ("printable view", "Druckansicht"),
    ("The document as received", "Das Dokument wie empfangen"),
    ("Zoom out", "Verkleinern"),
    ("Zoom in", "Vergrößern"),
    ("Fit width", "Seitenbreite"),
    ("Page", "Seite"),
    ("The scanned invoice", "Die gescannte Rechnung"),
    (
        "No preview of this kind of document: open it with the link above.",
        "Keine Vorschau für diese Dokumentart: öffnen Sie es über den Link oben.",
    ),
    (
        "The attached e-invoice XML breaks these rules",
        "Das angehängte E-Rechnungs-XML verletzt diese Regeln",
    ),
    (
        "print this page to save it as PDF",
        "drucken Sie diese Seite, um sie als PDF zu speichern",
    ),
    (
        "It is being read. Reload this page in a moment to see the invoice.",
        "Es wird gelesen. Laden Sie die Seite gleich neu, um die Rechnung zu sehen.",
    ),
    (
        "apflow could not read it as an invoice: ",
        "apflow konnte es nicht als Rechnung lesen: ",
    ),
    (
        "apflow gave up on it after several tries: ",
        "apflow hat nach mehreren Versuchen aufgegeben: ",
    ),
    (
        "edit the first field to check",
        "erstes zu prüfendes Feld bearbeiten",
    ),
    ("write a note", "Notiz schreiben"),
    (
        "take the invoice (assign it to me)",
        "Rechnung übernehmen (mir zuweisen)",
    ),
    (
        "send to approval (type the comment, then Enter)",
        "zur Freigabe senden (Kommentar tippen, dann Enter)",
    ),
    (
        "approve (type a comment if you like, then Enter)",
        "freigeben (Kommentar nach Wunsch, dann Enter)",
    ),
    (
        "reject (type the reason, then Enter)",
        "ablehnen (Grund tippen, dann Enter)",
    ),
    (
        "put on hold (type the reason, then Enter)",
        "zurückstellen (Grund tippen, dann Enter)",
    ),
    ("undo a rejection", "Ablehnung rückgängig machen"),
    (
        "next / previous invoice of the list",
        "nächste / vorige Rechnung der Liste",
    ),
    (
        "zoom the document in, out, to the page width",
        "Dokument vergrößern, verkleinern, auf Seitenbreite",
    ),
    (
        "leave a field (then the keys work again)",
        "Feld verlassen (dann wirken die Tasten wieder)",
    ),
    // Dashboard
    ("Nothing yet.", "Noch nichts."),
    ("this week", "diese Woche"),
    ("last week", "letzte Woche"),
    ("weeks ago", "Wochen zuvor"),
    (
        "Touchless, by the week invoices arrived",
        "Ohne Eingriff, nach Eingangswoche",
    ),
    ("touchless", "ohne Eingriff"),
    (
        "invoices scheduled without a person",
        "Rechnungen ohne Menschen eingeplant",
    ),
    (
        "waiting for review or approval, worth",
        "warten auf Prüfung oder Freigabe, im Wert von",
    ),
    ("early-payment discounts taken", "genutzte Skonti"),
    ("payments", "Zahlungen"),
    (
        "discounts lapsed before payment",
        "vor der Zahlung verfallene Skonti",
    ),
    ("Why invoices wait", "Warum Rechnungen warten"),
    ("Due in the coming weeks", "Fällig in den nächsten Wochen"),
    ("How long they have waited", "Wie lange sie warten"),
    ("Invoices by status", "Rechnungen nach Status"),
    ("overdue", "überfällig"),
    ("week of", "Woche vom"),
    ("under 1 day", "unter 1 Tag"),
    ("1 to 3 days", "1 bis 3 Tage"),
    ("3 to 7 days", "3 bis 7 Tage"),
    ("over 7 days", "über 7 Tage"),
    // Statuses
    ("Being read", "Wird gelesen"),
    ("Scheduled for payment", "Zur Zahlung eingeplant"),
    ("Waiting for approval", "Wartet auf Freigabe"),
    ("Duplicate", "Dublette"),
    ("Paid", "Bezahlt"),
    // Reasons
    ("A field is missing", "Ein Feld fehlt"),
    ("Totals do not add up", "Summen stimmen nicht"),
    (
        "Lines do not add up to the net amount",
        "Positionen ergeben nicht den Nettobetrag",
    ),
    ("IBAN is not valid", "IBAN ist ungültig"),
    ("Due before it was issued", "Fällig vor dem Rechnungsdatum"),
    ("Read with low confidence", "Unsicher gelesen"),
    (
        "Vendor not in the master data",
        "Lieferant nicht in den Stammdaten",
    ),
    ("Vendor unclear", "Lieferant unklar"),
    ("New bank account", "Neue Bankverbindung"),
    ("Already received", "Bereits erhalten"),
    ("No purchase order number", "Keine Bestellnummer"),
    ("Purchase order not found", "Bestellung nicht gefunden"),
    ("Purchase order closed", "Bestellung abgeschlossen"),
    (
        "Order is from another vendor",
        "Bestellung ist von einem anderen Lieferanten",
    ),
    (
        "Currency differs from the order",
        "Währung weicht von der Bestellung ab",
    ),
    ("Line not on the order", "Position nicht in der Bestellung"),
    (
        "Price differs from the order",
        "Preis weicht von der Bestellung ab",
    ),
    ("More billed than ordered", "Mehr berechnet als bestellt"),
    ("More billed than received", "Mehr berechnet als geliefert"),
    ("Goods not received yet", "Ware noch nicht eingegangen"),
    (
        "Billed more than received, over several invoices",
        "Über mehrere Rechnungen mehr berechnet als geliefert",
    ),
    (
        "Tax differs from the order",
        "Steuer weicht von der Bestellung ab",
    ),
    ("Charges not on the order", "Kosten nicht in der Bestellung"),
    (
        "Looks like an invoice already received",
        "Sieht aus wie eine bereits erhaltene Rechnung",
    ),
    ("VAT number is not valid", "USt-IdNr. ist ungültig"),
    ("Unusual tax rate", "Ungewöhnlicher Steuersatz"),
    (
        "Credit note: nothing to pay",
        "Gutschrift: nichts zu zahlen",
    ),
    ("Payment failed", "Zahlung fehlgeschlagen"),
    (
        "E-invoice data and page disagree",
        "E-Rechnungsdaten und Seite stimmen nicht überein",
    ),
    ("PDF is password protected", "PDF ist passwortgeschützt"),
    (
        "Changed by a person: needs approval",
        "Von einem Menschen geändert: Freigabe nötig",
    ),
    ("Reopened", "Wieder geöffnet"),
    (
        "Payment refused by the payment run",
        "Zahlung vom Zahlungslauf abgelehnt",
    ),
    (
        "E-invoice breaks the EN 16931 rules",
        "E-Rechnung verletzt die Regeln der EN 16931",
    ),
    (
        "Paid by direct debit: check the debit",
        "Per Lastschrift bezahlt: Lastschrift prüfen",
    ),
    (
        "Already paid: nothing due",
        "Bereits bezahlt: nichts fällig",
    ),
    ("matches its purchase order", "passt zur Bestellung"),
    (
        "differs from its purchase order",
        "weicht von der Bestellung ab",
    ),
    (
        "no purchase order to match",
        "keine Bestellung zum Abgleich",
    ),
    ("not matched yet", "noch nicht abgeglichen"),
    // Fields
    ("Vendor VAT number", "USt-IdNr. des Lieferanten"),
    ("Vendor of the master data", "Lieferant aus den Stammdaten"),
    ("found by the checks", "von den Prüfungen gefunden"),
    ("search by name or number", "nach Name oder Nummer suchen"),
    ("Vendor address", "Anschrift des Lieferanten"),
    ("Invoice number", "Rechnungsnummer"),
    ("Invoice date", "Rechnungsdatum"),
    ("Due date", "Fälligkeitsdatum"),
    ("Delivery date", "Lieferdatum"),
    ("Purchase order", "Bestellung"),
    ("Buyer reference", "Käuferreferenz"),
    ("Customer number", "Kundennummer"),
    ("Currency", "Währung"),
    ("Net amount", "Nettobetrag"),
    ("Tax rate", "Steuersatz"),
    ("Tax", "Steuer"),
    ("Amount due", "Zahlbetrag"),
    ("Payment terms", "Zahlungsbedingungen"),
    ("IBAN", "IBAN"),
    ("BIC", "BIC"),
    ("Direct debit", "Lastschrift"),
    ("Credit note", "Gutschrift"),
    // History
    ("Document received", "Dokument eingegangen"),
    ("Document could not be read", "Dokument nicht lesbar"),
    ("Tried again", "Erneut versucht"),
    ("Try again", "Erneut versuchen"),
    ("Read", "Gelesen"),
    ("Checked and routed", "Geprüft und weitergeleitet"),
    ("Field corrected", "Feld korrigiert"),
    ("Lines corrected", "Positionen korrigiert"),
    ("Taken", "Übernommen"),
    ("Sent to approval", "Zur Freigabe gesendet"),
    (
        "Approved (more approvals needed)",
        "Freigegeben (weitere Freigaben nötig)",
    ),
    ("Approved", "Freigegeben"),
    ("Rejected by the approver", "Von der Freigabe abgelehnt"),
    ("Placed on hold", "Zurückgestellt"),
    ("Back from hold", "Zurück aus der Zurückstellung"),
    ("Marked as a duplicate", "Als Dublette markiert"),
    ("Note", "Notiz"),
    ("Payment refused", "Zahlung abgelehnt"),
];

const FR: &[(&str, &str)] = &[
    // Frame
    ("Skip to the content", "Aller au contenu"),
    ("Queue", "File"),
    ("Dashboard", "Tableau de bord"),
    ("Search invoices", "Rechercher des factures"),
    (
        "Search: vendor, number, PO, amount",
        "Recherche : fournisseur, numéro, commande, montant",
    ),
    ("Log out", "Se déconnecter"),
    ("Language", "Langue"),
    ("Switch", "Changer"),
    ("Keyboard shortcuts", "Raccourcis clavier"),
    ("Close", "Fermer"),
    ("show or hide this list", "afficher ou masquer cette liste"),
    ("go to the queue", "aller à la file"),
    ("search invoices", "rechercher des factures"),
    ("AP clerk", "comptable fournisseurs"),
    ("approver", "approbateur"),
    ("finance admin", "administration financière"),
    // Errors and login
    ("Not found", "Introuvable"),
    (
        "There is no such page or invoice here. It may have been mistyped, or the link is old.",
        "Cette page ou cette facture n'existe pas ici. Peut-être une faute de frappe, ou un lien ancien.",
    ),
    ("Something went wrong", "Un problème est survenu"),
    (
        "apflow could not show this page. Nothing was changed; try again, and tell your admin if it happens again.",
        "apflow n'a pas pu afficher cette page. Rien n'a été modifié ; réessayez et prévenez votre administrateur si cela se reproduit.",
    ),
    ("Please log in", "Veuillez vous connecter"),
    ("Your session has ended.", "Votre session a expiré."),
    ("Not allowed", "Non autorisé"),
    ("Not done", "Non effectué"),
    ("Too large", "Trop volumineux"),
    (
        "The file is larger than apflow takes.",
        "Le fichier dépasse la taille acceptée par apflow.",
    ),
    ("Back to the invoice", "Retour à la facture"),
    ("To the queue", "Vers la file"),
    ("Log in", "Se connecter"),
    ("User name", "Nom d'utilisateur"),
    ("Password", "Mot de passe"),
    ("Not saved yet", "Pas encore enregistré"),
    (
        "Wrong user name or password.",
        "Nom d'utilisateur ou mot de passe incorrect.",
    ),
    (
        "Too many failed logins; wait a little and try again.",
        "Trop d'échecs de connexion ; patientez un peu et réessayez.",
    ),
    (
        "Your session ended before this was saved. Here it is as you left it: check it and send it.",
        "Votre session a expiré avant l'enregistrement. Le voici tel que vous l'avez laissé : vérifiez-le et envoyez-le.",
    ),
    ("Send it now", "L'envoyer maintenant"),
    (
        "Drop it and open the invoice",
        "Abandonner et ouvrir la facture",
    ),
    (
        "Your session ended, so this was not saved yet. Log in and it is shown again, as you left it.",
        "Votre session a expiré : rien n'est encore enregistré. Connectez-vous et tout réapparaît tel que vous l'avez laissé.",
    ),
    // Queue
    ("All open", "Toutes ouvertes"),
    ("Assigned to me", "Qui me sont attribuées"),
    ("Needs review", "À vérifier"),
    ("Waiting for my approval", "En attente de mon approbation"),
    ("On hold", "En attente"),
    ("Rejected", "Rejetées"),
    ("Scheduled and paid", "Planifiées et payées"),
    ("Duplicates", "Doublons"),
    ("Everything", "Toutes"),
    ("Search", "Recherche"),
    (
        "vendor, number, PO, amount",
        "fournisseur, numéro, commande, montant",
    ),
    ("Why", "Pourquoi"),
    ("any reason", "tout motif"),
    ("Sort by", "Trier par"),
    ("due date", "échéance"),
    ("amount, largest first", "montant, le plus élevé d'abord"),
    ("waiting longest", "attente la plus longue"),
    ("Show", "Afficher"),
    ("Vendor", "Fournisseur"),
    ("Invoice no.", "N° de facture"),
    ("Due", "Échéance"),
    ("Total", "Total"),
    ("Status", "Statut"),
    ("Taken by", "Prise par"),
    ("Waiting", "Attente"),
    ("Nothing here.", "Rien ici."),
    ("Show more", "Voir plus"),
    (
        " Take an invoice from “All open” to work on it.",
        " Prenez une facture dans « Toutes ouvertes » pour la traiter.",
    ),
    ("Unknown vendor", "Fournisseur inconnu"),
    ("Add invoices", "Ajouter des factures"),
    (
        "Drop PDFs, images, e-invoices (XML) or saved mails here, or ",
        "Déposez ici des PDF, images, factures électroniques (XML) ou courriels enregistrés, ou ",
    ),
    ("choose files ", "choisissez des fichiers "),
    (
        "Documents that could not be processed",
        "Documents qui n'ont pas pu être traités",
    ),
    ("File", "Fichier"),
    ("Received", "Reçu"),
    ("What happened", "Ce qui s'est passé"),
    (
        "Gave up after several tries",
        "Abandonné après plusieurs essais",
    ),
    (
        "Not an invoice apflow can read",
        "Pas une facture lisible par apflow",
    ),
    (
        "next / previous invoice in the list",
        "facture suivante / précédente de la liste",
    ),
    ("open the invoice", "ouvrir la facture"),
    ("under an hour", "moins d'une heure"),
    // Invoice
    ("← Back to the list", "← Retour à la liste"),
    ("Previous", "Précédente"),
    ("Next", "Suivante"),
    ("of", "sur"),
    ("Invoice", "Facture"),
    ("without a number", "sans numéro"),
    ("from", "de"),
    ("an unknown vendor", "un fournisseur inconnu"),
    ("due", "échéance"),
    ("order", "commande"),
    ("none", "aucune"),
    ("Nobody has taken it yet", "Personne ne l'a encore prise"),
    (
        "Being checked again after a change: the reasons below update in a moment.",
        "Nouvelle vérification après une modification : les motifs ci-dessous se mettent à jour dans un instant.",
    ),
    ("Duplicate of", "Doublon de"),
    ("invoice #", "facture n° "),
    ("; it will not be paid.", " ; elle ne sera pas payée."),
    ("Payment", "Paiement"),
    ("on", "le"),
    (
        "Why it needs a person",
        "Pourquoi une personne doit intervenir",
    ),
    ("What the checks found", "Ce que les contrôles ont trouvé"),
    ("What next", "Et maintenant"),
    ("Take it", "La prendre"),
    ("Give it to", "La confier à"),
    ("Assign", "Attribuer"),
    (
        "Comment for the approver (required)",
        "Commentaire pour l'approbateur (obligatoire)",
    ),
    ("Send to approval", "Envoyer pour approbation"),
    ("Send and next", "Envoyer et suivante"),
    ("Why on hold", "Motif de la mise en attente"),
    ("Put on hold", "Mettre en attente"),
    ("Why rejected", "Motif du rejet"),
    ("Reject", "Rejeter"),
    (
        "Reject this invoice? It will not be paid (an approver can undo it today).",
        "Rejeter cette facture ? Elle ne sera pas payée (un approbateur peut l'annuler aujourd'hui).",
    ),
    ("Duplicate of invoice #", "Doublon de la facture n°"),
    ("Mark duplicate", "Marquer comme doublon"),
    (
        "Mark as a duplicate? It will not be paid (an approver can undo it today).",
        "Marquer comme doublon ? Elle ne sera pas payée (un approbateur peut l'annuler aujourd'hui).",
    ),
    ("Back to the review queue", "Retour à la vérification"),
    ("Comment (optional)", "Commentaire (facultatif)"),
    ("Approve", "Approuver"),
    ("Approve and next", "Approuver et suivante"),
    (
        "Reject this invoice? It will not be paid (you can undo it today).",
        "Rejeter cette facture ? Elle ne sera pas payée (vous pouvez l'annuler aujourd'hui).",
    ),
    (
        "Undo: back to the review queue",
        "Annuler : retour à la vérification",
    ),
    ("Why reopen", "Motif de la réouverture"),
    ("Reopen for review", "Rouvrir pour vérification"),
    ("Waiting for an approver.", "En attente d'un approbateur."),
    (
        "A clerk reviews it first.",
        "Un comptable la vérifie d'abord.",
    ),
    ("Fields", "Champs"),
    (
        "Change a value and save; amounts as 1.234,56 or 1234.56, dates as 31.12.2026 or 2026-12-31. Click a word on the page to take it.",
        "Modifiez une valeur et enregistrez ; montants comme 1.234,56 ou 1234.56, dates comme 31.12.2026 ou 2026-12-31. Cliquez un mot de la page pour le reprendre.",
    ),
    ("Field", "Champ"),
    ("Value", "Valeur"),
    ("Read with", "Lu avec"),
    ("show on the page", "montrer sur la page"),
    ("certain", "certain"),
    ("low", "faible"),
    ("not found", "introuvable"),
    ("Save changes", "Enregistrer"),
    ("Save and next", "Enregistrer et suivante"),
    ("Line items", "Lignes"),
    ("Remove", "Supprimer"),
    ("Save lines", "Enregistrer les lignes"),
    (
        "Fill the empty rows to add lines; tick Remove to drop one.",
        "Remplissez les lignes vides pour en ajouter ; cochez Supprimer pour en retirer une.",
    ),
    ("Description", "Désignation"),
    ("Quantity", "Quantité"),
    ("Unit price", "Prix unitaire"),
    ("Amount", "Montant"),
    ("Notes", "Notes"),
    ("No notes yet.", "Pas encore de note."),
    (
        "Add a note (@name tells a colleague)",
        "Ajouter une note (@nom prévient un collègue)",
    ),
    ("Add note", "Ajouter la note"),
    ("Changed by people", "Modifié par des personnes"),
    ("Was", "Avant"),
    ("Now", "Maintenant"),
    ("By", "Par"),
    ("When", "Quand"),
    ("(moves money)", "(touche au paiement)"),
    ("Bank account", "Compte bancaire"),
    (
        "This invoice asks to be paid to ",
        "Cette facture demande un paiement sur ",
    ),
    (
        "a verified account of the vendor",
        "un compte vérifié du fournisseur",
    ),
    (
        "NOT a verified account of the vendor",
        "PAS un compte vérifié du fournisseur",
    ),
    ("Known accounts", "Comptes connus"),
    ("State", "État"),
    ("How", "Comment"),
    (
        "Call the vendor on a number you already had (never one printed on this invoice) before you verify.",
        "Appelez le fournisseur à un numéro que vous aviez déjà (jamais celui imprimé sur cette facture) avant de vérifier.",
    ),
    ("Verify this bank account", "Vérifier ce compte"),
    ("Why refused", "Motif du refus"),
    ("Refuse it", "Le refuser"),
    ("Against purchase order", "Rapprochement avec la commande"),
    ("Invoice line", "Ligne de facture"),
    ("Billed", "Facturé"),
    ("Order line", "Ligne de commande"),
    ("Order price", "Prix commandé"),
    ("Ordered", "Commandé"),
    ("Billed before", "Déjà facturé"),
    ("History", "Historique"),
    ("Who", "Qui"),
    ("What", "Quoi"),
    ("Detail", "Détail"),
    ("Document", "Document"),
    ("The XML as received", "Le XML tel que reçu"),
    ("printable view", "version imprimable"),
    ("The document as received", "Le document tel que reçu"),
    ("Zoom out", "Réduire"),
    ("Zoom in", "Agrandir"),
    ("Fit width", "Pleine largeur"),
    ("Page", "Page"),
    ("The scanned invoice", "La facture numérisée"),
    (
        "No preview of this kind of document: open it with the link above.",
        "Pas d'aperçu pour ce type de document : ouvrez-le avec le lien ci-dessus.",
    ),
    (
        "The attached e-invoice XML breaks these rules",
        "Le XML de facture électronique joint enfreint ces règles",
    ),
    (
        "print this page to save it as PDF",
        "imprimez cette page pour l'enregistrer en PDF",
    ),
    (
        "It is being read. Reload this page in a moment to see the invoice.",
        "Lecture en cours. Rechargez la page dans un instant pour voir la facture.",
    ),
    (
        "apflow could not read it as an invoice: ",
        "apflow n'a pas pu le lire comme une facture : ",
    ),
    (
        "apflow gave up on it after several tries: ",
        "apflow a abandonné après plusieurs essais : ",
    ),
    (
        "edit the first field to check",
        "modifier le premier champ à vérifier",
    ),
    ("write a note", "écrire une note"),
    (
        "take the invoice (assign it to me)",
        "prendre la facture (me l'attribuer)",
    ),
    (
        "send to approval (type the comment, then Enter)",
        "envoyer pour approbation (saisir le commentaire, puis Entrée)",
    ),
    (
        "approve (type a comment if you like, then Enter)",
        "approuver (commentaire facultatif, puis Entrée)",
    ),
    (
        "reject (type the reason, then Enter)",
        "rejeter (saisir le motif, puis Entrée)",
    ),
    (
        "put on hold (type the reason, then Enter)",
        "mettre en attente (saisir le motif, puis Entrée)",
    ),
    ("undo a rejection", "annuler un rejet"),
    (
        "next / previous invoice of the list",
        "facture suivante / précédente de la liste",
    ),
    (
        "zoom the document in, out, to the page width",
        "agrandir, réduire, pleine largeur",
    ),
    (
        "leave a field (then the keys work again)",
        "quitter un champ (les touches refonctionnent)",
    ),
    // Dashboard
    ("Nothing yet.", "Rien pour l'instant."),
    ("this week", "cette semaine"),
    ("last week", "la semaine dernière"),
    ("weeks ago", "semaines plus tôt"),
    (
        "Touchless, by the week invoices arrived",
        "Sans intervention, par semaine d'arrivée",
    ),
    ("touchless", "sans intervention"),
    (
        "invoices scheduled without a person",
        "factures planifiées sans intervention",
    ),
    (
        "waiting for review or approval, worth",
        "en attente de vérification ou d'approbation, pour",
    ),
    ("early-payment discounts taken", "escomptes obtenus"),
    ("payments", "paiements"),
    (
        "discounts lapsed before payment",
        "escomptes perdus avant paiement",
    ),
    ("Why invoices wait", "Pourquoi les factures attendent"),
    (
        "Due in the coming weeks",
        "Échéances des prochaines semaines",
    ),
    (
        "How long they have waited",
        "Depuis combien de temps elles attendent",
    ),
    ("Invoices by status", "Factures par statut"),
    ("overdue", "en retard"),
    ("week of", "semaine du"),
    ("under 1 day", "moins d'un jour"),
    ("1 to 3 days", "1 à 3 jours"),
    ("3 to 7 days", "3 à 7 jours"),
    ("over 7 days", "plus de 7 jours"),
    // Statuses
    ("Being read", "En lecture"),
    ("Scheduled for payment", "Paiement planifié"),
    ("Waiting for approval", "En attente d'approbation"),
    ("Duplicate", "Doublon"),
    ("Paid", "Payée"),
    // Reasons
    ("A field is missing", "Un champ manque"),
    ("Totals do not add up", "Les totaux ne concordent pas"),
    (
        "Lines do not add up to the net amount",
        "Les lignes ne donnent pas le montant HT",
    ),
    ("IBAN is not valid", "IBAN non valide"),
    (
        "Due before it was issued",
        "Échéance avant la date de facture",
    ),
    ("Read with low confidence", "Lu avec peu de certitude"),
    (
        "Vendor not in the master data",
        "Fournisseur absent des données de base",
    ),
    ("Vendor unclear", "Fournisseur incertain"),
    ("New bank account", "Nouveau compte bancaire"),
    ("Already received", "Déjà reçue"),
    ("No purchase order number", "Pas de numéro de commande"),
    ("Purchase order not found", "Commande introuvable"),
    ("Purchase order closed", "Commande clôturée"),
    (
        "Order is from another vendor",
        "Commande d'un autre fournisseur",
    ),
    (
        "Currency differs from the order",
        "Devise différente de la commande",
    ),
    ("Line not on the order", "Ligne absente de la commande"),
    (
        "Price differs from the order",
        "Prix différent de la commande",
    ),
    ("More billed than ordered", "Plus facturé que commandé"),
    ("More billed than received", "Plus facturé que reçu"),
    ("Goods not received yet", "Marchandise pas encore reçue"),
    (
        "Billed more than received, over several invoices",
        "Plus facturé que reçu, sur plusieurs factures",
    ),
    (
        "Tax differs from the order",
        "TVA différente de la commande",
    ),
    ("Charges not on the order", "Frais absents de la commande"),
    (
        "Looks like an invoice already received",
        "Ressemble à une facture déjà reçue",
    ),
    ("VAT number is not valid", "Numéro de TVA non valide"),
    ("Unusual tax rate", "Taux de TVA inhabituel"),
    ("Credit note: nothing to pay", "Avoir : rien à payer"),
    ("Payment failed", "Paiement échoué"),
    (
        "E-invoice data and page disagree",
        "Données de la facture électronique et page divergent",
    ),
    ("PDF is password protected", "PDF protégé par mot de passe"),
    (
        "Changed by a person: needs approval",
        "Modifié par une personne : approbation requise",
    ),
    ("Reopened", "Rouverte"),
    (
        "Payment refused by the payment run",
        "Paiement refusé par le lot de paiement",
    ),
    (
        "E-invoice breaks the EN 16931 rules",
        "La facture électronique enfreint les règles EN 16931",
    ),
    (
        "Paid by direct debit: check the debit",
        "Payée par prélèvement : vérifier le prélèvement",
    ),
    ("Already paid: nothing due", "Déjà payée : rien à régler"),
    ("matches its purchase order", "conforme à la commande"),
    ("differs from its purchase order", "diffère de la commande"),
    ("no purchase order to match", "pas de commande à rapprocher"),
    ("not matched yet", "pas encore rapprochée"),
    // Fields
    ("Vendor VAT number", "N° de TVA du fournisseur"),
    (
        "Vendor of the master data",
        "Fournisseur des données de base",
    ),
    ("found by the checks", "trouvé par les contrôles"),
    ("search by name or number", "chercher par nom ou numéro"),
    ("Vendor address", "Adresse du fournisseur"),
    ("Invoice number", "Numéro de facture"),
    ("Invoice date", "Date de facture"),
    ("Due date", "Date d'échéance"),
    ("Delivery date", "Date de livraison"),
    ("Purchase order", "Commande"),
    ("Buyer reference", "Référence acheteur"),
    ("Customer number", "Numéro client"),
    ("Currency", "Devise"),
    ("Net amount", "Montant HT"),
    ("Tax rate", "Taux de TVA"),
    ("Tax", "TVA"),
    ("Amount due", "Montant dû"),
    ("Payment terms", "Conditions de paiement"),
    ("IBAN", "IBAN"),
    ("BIC", "BIC"),
    ("Direct debit", "Prélèvement"),
    ("Credit note", "Avoir"),
    // History
    ("Document received", "Document reçu"),
    ("Document could not be read", "Document illisible"),
    ("Tried again", "Nouvel essai"),
    ("Try again", "Réessayer"),
    ("Read", "Lue"),
    ("Checked and routed", "Contrôlée et orientée"),
    ("Field corrected", "Champ corrigé"),
    ("Lines corrected", "Lignes corrigées"),
    ("Taken", "Prise"),
    ("Sent to approval", "Envoyée pour approbation"),
    (
        "Approved (more approvals needed)",
        "Approuvée (d'autres approbations requises)",
    ),
    ("Approved", "Approuvée"),
    ("Rejected by the approver", "Rejetée par l'approbateur"),
    ("Placed on hold", "Mise en attente"),
    ("Back from hold", "Sortie d'attente"),
    ("Marked as a duplicate", "Marquée comme doublon"),
    ("Note", "Note"),
    ("Payment refused", "Paiement refusé"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_browser_and_the_choice() {
        let cases: &[(&str, Option<Lang>)] = &[
            ("de-DE,de;q=0.9,en;q=0.8", Some(Lang::De)),
            ("en-US,en;q=0.9,fr;q=0.8", Some(Lang::En)),
            ("it, fr;q=0.5, de;q=0.4", Some(Lang::Fr)),
            ("fr;q=0.2, de;q=0.7", Some(Lang::De)),
            ("es, it", None),
            ("de;q=0", None),
            ("", None),
            ("*", None),
        ];
        for (header, want) in cases {
            assert_eq!(Lang::from_accept_language(header), *want, "{header:?}");
        }
        assert_eq!(Lang::De.t("Needs review"), "Zu prüfen");
        assert_eq!(Lang::Fr.t("Needs review"), "À vérifier");
        assert_eq!(Lang::De.t("no such text"), "no such text");
    }

    /// Every text a page passes to `t`, and every label, has a German and
    /// a French entry.
    #[test]
    fn every_text_is_translated() {
        let sources = [
            include_str!("mod.rs"),
            include_str!("queue.rs"),
            include_str!("invoice.rs"),
            include_str!("dashboard.rs"),
            include_str!("labels.rs"),
            include_str!("../auth.rs"),
        ];
        let mut keys: Vec<&str> = Vec::new();
        for src in sources {
            for part in src.split(".t(\"").skip(1) {
                if let Some(end) = part.find("\")") {
                    keys.push(&part[..end]);
                }
            }
        }
        // The keyboard help (`does: "..."`) and the queue's views.
        for src in sources {
            for part in src.split("does: \"").skip(1) {
                if let Some(end) = part.find('"') {
                    keys.push(&part[..end]);
                }
            }
        }
        for (_, view) in super::super::queue::VIEWS {
            keys.push(view);
        }
        for c in crate::domain::ReasonCode::ALL {
            keys.push(super::super::labels::reason_en(c.as_str()).unwrap_or(""));
        }
        for (_, label) in super::super::labels::FIELDS {
            keys.push(label);
        }
        assert!(keys.len() > 100, "the scan found the texts: {}", keys.len());
        let mut missing = Vec::new();
        for key in keys.iter().filter(|k| !k.is_empty() && !k.contains('\\')) {
            for (lang, table) in [("de", DE), ("fr", FR)] {
                if !table.iter().any(|(k, _)| k == key) {
                    missing.push(format!("{lang}: {key}"));
                }
            }
        }
        missing.sort();
        missing.dedup();
        assert!(missing.is_empty(), "untranslated:\n{}", missing.join("\n"));
    }
}
