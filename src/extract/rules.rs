//! Label-driven rules over positioned words.
//!
//! A line is cut into *cells* where words are far apart, so that a label in
//! one column never runs into a value of the next. A value is looked for in
//! the rest of the label's cell, then in the next cells of the same line,
//! then in the cell right below the label.

use chrono::NaiveDate;
use regex::Regex;
use rust_decimal::Decimal;
use std::sync::LazyLock;

use super::normalize::{
    DecimalStyle, currency_code, guess_day_first, guess_decimal_style, parse_amount, parse_date,
    parse_iban,
};
use super::table;
use crate::domain::{BBox, ExtractedInvoice, ExtractionSource, Field, Line, Page};

/// A run of words on one line with no large gap inside.
#[derive(Debug, Clone)]
pub(super) struct Cell {
    pub page: u32,
    pub text: String,
    pub bbox: BBox,
}

/// Splits each line into cells at gaps wider than about two spaces.
pub(super) fn cells_of(page: &Page) -> Vec<Vec<Cell>> {
    page.lines
        .iter()
        .map(|line| split_cells(page.number, line))
        .collect()
}

fn split_cells(page: u32, line: &Line) -> Vec<Cell> {
    let mut cells: Vec<Cell> = Vec::new();
    for w in &line.words {
        let height = (w.bbox.y1 - w.bbox.y0).max(1.0);
        match cells.last_mut() {
            Some(c) if w.bbox.x0 - c.bbox.x1 < 0.9 * height => {
                c.text.push(' ');
                c.text.push_str(&w.text);
                c.bbox = c.bbox.union(w.bbox);
            }
            _ => cells.push(Cell {
                page,
                text: w.text.clone(),
                bbox: w.bbox,
            }),
        }
    }
    cells
}

struct Label {
    re: Regex,
}

fn labels(patterns: &[&str]) -> Vec<Label> {
    patterns
        .iter()
        .map(|p| Label {
            // The label must end at a separator: `PO-2026-0101` is a value
            // starting with "PO", not the label "PO" followed by a value.
            re: Regex::new(&format!(r"(?i)^\s*(?:{p})(?:\s*[:#.]+\s*|\s+|$)"))
                .expect("label patterns are constants"),
        })
        .collect()
}

static INVOICE_NUMBER: LazyLock<Vec<Label>> = LazyLock::new(|| {
    labels(&[
        // "Handelsrechnung (380) Nr.", "Gutschrift (Selbst ausgestellte
        // Rechnung) (389) Nr.", "Invoice No.", "Facture n°".
        // "Rechnung des Versicherers (575) Nr.", "Invoice of the month no.".
        r"[\wäöü-]*(?:rechnung|gutschrift|invoice|credit\s+note|facture|avoir|factuur)[\wäöü-]*(?:\s*\([^)]*\))*(?:\s+(?:des|der|du|de\s+la|of\s+the)\s+[\wäöüé-]+(?:\s*\([^)]*\))*)?\s*(?:nr|no|n°|number|num[ée]ro|#)",
        r"rechnungs?\s*-?\s*(?:nummer|nr)",
        r"rechnung\s+(?:nr|nummer)",
        r"re\.?\s*-?\s*nr",
        r"invoice\s*(?:number|no|num|#|id)",
        r"invoice",
        r"n[°o]\s*(?:de\s+)?facture",
        r"num[ée]ro\s+de\s+facture",
        r"facture\s*n[°o]",
        r"factuur\s*(?:nummer|nr)",
        r"n[úu]mero\s+de\s+factura",
        r"factura\s*n",
        r"fattura\s*n",
        r"belegnummer",
        r"gutschrift\s*(?:nummer|nr)",
        r"credit\s+note\s+(?:number|no)",
    ])
});
static INVOICE_DATE: LazyLock<Vec<Label>> = LazyLock::new(|| {
    labels(&[
        r"rechnungsdatum",
        r"invoice\s+date",
        r"date\s+(?:de\s+)?(?:la\s+)?facture",
        r"date\s+d'?émission",
        r"date\s+de\s+facturation",
        r"factur[ée]e?\s+le",
        r"facture\s+du",
        r"factuurdatum",
        r"fecha\s+(?:de\s+)?factura",
        r"data\s+fattura",
        r"belegdatum",
    ])
});
/// "Date" alone, in the languages read. Bare, it labels the invoice's date;
/// followed by words it is another date ("Date de livraison", "Date of
/// supply", "Datum der Leistung"), so its value must follow it at once.
static DATE_WORD: LazyLock<Vec<Label>> =
    LazyLock::new(|| labels(&[r"datum", r"date", r"fecha", r"data"]));
static DUE_DATE: LazyLock<Vec<Label>> = LazyLock::new(|| {
    labels(&[
        r"f[äa]lligkeit(?:sdatum)?",
        r"f[äa]llig(?:\s+am|\s+bis)?",
        r"zahlbar\s+bis(?:\s+zum)?",
        r"zahlungsziel",
        r"due\s+date",
        r"payment\s+due(?:\s+date)?",
        r"due",
        r"date\s+d'?[ée]ch[ée]ance",
        r"[ée]ch[ée]ance",
        r"[àa]\s+payer\s+avant\s+le",
        r"vervaldatum",
        r"fecha\s+de\s+vencimiento",
        r"scadenza",
    ])
});
static PO_NUMBER: LazyLock<Vec<Label>> = LazyLock::new(|| {
    labels(&[
        r"bestell\s*-?\s*(?:nummer|nr)",
        r"ihre\s+bestell(?:ung|nummer)",
        r"bestellung",
        r"p\.?\s*o\.?\s*(?:number|no|#)?",
        r"purchase\s+order(?:\s+(?:number|no))?",
        r"your\s+order(?:\s+(?:number|no))?",
        r"order\s+(?:number|no|ref(?:erence)?)",
        r"bon\s+de\s+commande",
        r"n[°o]\s*(?:de\s+)?commande",
        r"votre\s+commande",
        // "Référence de la commande", "Réf. commande client", "Commande
        // n°", "Référence du bon de commande".
        r"r[ée]f(?:[ée]rence|\.)?\s+(?:d[eu]\s+(?:la\s+)?)?(?:bon\s+de\s+)?commande(?:\s+(?:client|acheteur))?",
        r"commande\s+(?:client\s+|acheteur\s+)?n[°o]",
        r"bestelnummer",
        r"pedido",
        r"ordine",
    ])
});
static NET: LazyLock<Vec<Label>> = LazyLock::new(|| {
    labels(&[
        // The total's words with a net qualifier, in the orders
        // generators print them: "Net Total Amount", "Total amount
        // (net)", "Gesamtbetrag Netto".
        r"net\s+total(?:\s+amount)?",
        r"total\s+(?:amount\s+)?\(\s*net\s*\)",
        r"total\s+net\s+amount",
        r"gesamtbetrag\s+netto",
        r"montant\s+total\s+ht",
        r"montant\s+total\s+net",
        r"rechnungssumme\s+ohne\s+(?:ust|mwst|umsatzsteuer)\.?",
        r"summe\s+ohne\s+(?:ust|mwst|umsatzsteuer)\.?",
        r"total\s+(?:excl(?:uding|usive)?|without|before)\.?\s+(?:vat|tax|gst)",
        r"(?:amount|sub\s*-?total)\s+(?:excl(?:uding|usive)?|without|before)\.?\s+(?:vat|tax|gst)",
        r"nettobetrag",
        r"summe\s+netto",
        r"gesamt\s*netto",
        r"netto\s*summe",
        r"nettosumme",
        r"gesamtsumme\s+netto",
        r"warenwert",
        r"total\s+ht",
        // "Total H.T.", "Sous-total HT", "Montant net H.T.".
        r"(?:sous\s*-?\s*)?total\s+(?:net\s+)?h\.\s*t\.?",
        r"sous\s*-?\s*total(?:\s+ht)?",
        r"montant\s+(?:total\s+)?net\s+h\.?\s*t\.?",
        r"montant\s+h\.\s*t\.?",
        r"total\s+net\s+ht",
        r"montant\s+ht",
        r"total\s+hors\s+taxes?",
        r"sub\s*-?total",
        r"net\s+(?:amount|total)",
        r"total\s+net",
        r"zwischensumme",
        r"netto",
        r"totaal\s+excl",
        r"base\s+imponible",
        r"imponibile",
    ])
});
static TAX: LazyLock<Vec<Label>> = LazyLock::new(|| {
    labels(&[
        r"value\s+added\s+tax(?:\s*\([^)]*\))?",
        r"taxe\s+sur\s+la\s+valeur\s+ajout[ée]e(?:\s*\([^)]*\))?",
        r"total\s+(?:vat|tax)\s+amount",
        r"(?:vat|tax)\s+amount",
        r"gesamtbetrag\s+(?:steuer|ust|mwst)",
        r"montant\s+(?:de\s+la\s+|total\s+(?:de\s+la\s+)?)?tva",
        r"steuerbetrag",
        r"(?:ust|mwst|umsatzsteuer)\.?\s*-?\s*betrag",
        r"total\s+(?:vat|tax)",
        r"(?:zzgl\.?\s*|zuz[üu]glich\s+|plus\s+|\+\s*)?(?:summe\s+)?(?:mwst|ust|umsatzsteuer|mehrwertsteuer)",
        r"(?:total\s+)?tva",
        r"(?:total\s+|montant\s+)?t\.\s*v\.\s*a\.?",
        r"(?:plus\s+|\+\s*)?(?:total\s+)?vat",
        // Goods and services tax (Australia, Canada, India, Malaysia,
        // New Zealand, Singapore), Canada's harmonised sales tax.
        r"(?:total\s+)?gst",
        r"(?:total\s+)?hst",
        r"sales\s+tax",
        r"tax",
        r"btw",
        r"iva",
    ])
});
static TOTAL: LazyLock<Vec<Label>> = LazyLock::new(|| {
    labels(&[
        r"gross\s+total(?:\s+amount)?",
        r"total\s+(?:amount\s+)?\(\s*gross\s*\)",
        r"total\s+gross\s+amount",
        r"montant\s+total\s+ttc",
        r"montant\s+total\s+brut",
        r"gesamtbetrag(?:\s+brutto)?",
        r"rechnungsbetrag",
        r"bruttosumme",
        r"bruttobetrag",
        r"rechnungssumme\s+(?:mit|inkl\.?)\s+(?:ust|mwst|umsatzsteuer)\.?",
        r"gesamtsumme(?:\s+brutto)?",
        r"summe\s+brutto",
        r"endbetrag",
        r"total\s+ttc",
        r"(?:montant\s+)?total\s+t\.\s*t\.\s*c\.?",
        r"montant\s+t\.\s*t\.\s*c\.?",
        r"montant\s+ttc",
        r"grand\s+total",
        // Rounded for cash: what was paid.
        r"(?:rounded\s+total|total\s+(?:after\s+)?round(?:ing|ed))",
        r"total\s+(?:incl(?:uding|usive)?|with)\.?\s+(?:vat|tax|gst)",
        // A till's words between "Total" and the tax it includes: "Total
        // Sales (Inclusive of GST)", "Total RM Incl. of GST", "Total
        // After Adj Incl GST", "TOTAL (GST INCL)".
        r"total(?:\s+[a-z]{2,6}\.?){0,2}\s*\(?\s*(?:incl(?:uding|usive)?|with)\.?\s+(?:of\s+)?(?:vat|tax|gst)\s*\)?",
        r"total\s*\(\s*(?:vat|tax|gst)\s+incl(?:uded|usive)?\.?\s*\)",
        r"invoice\s+total",
        r"total\s+amount",
        r"totaal",
        // What is left to pay after prepayments: the gross total only when
        // nothing more specific is printed.
        r"(?:net|reste|solde|montant)\s+[àa]\s+(?:payer|r[ée]gler)",
        r"total\s+due",
        r"amount\s+due",
        r"balance\s+due",
        r"zahlbetrag",
        r"f[äa]lliger\s+betrag",
        r"(?:total\s+)?amount\s+payable",
        r"total\s+[àa]\s+payer",
        r"total",
        r"gesamt",
        r"brutto",
    ])
});

static VAT_ID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:ATU\d{8}|BE0?\d{9,10}|DE\d{9}|DK\d{8}|ES[A-Z0-9]\d{7}[A-Z0-9]|FR[A-Z0-9]{2}\d{9}|GB\d{9}(?:\d{3})?|IT\d{11}|NL\d{9}B\d{2}|LU\d{8}|PL\d{10}|SE\d{12}|CHE[\d.]{9,12}|IE\d{7}[A-Z]{1,2}|PT\d{9}|FI\d{8}|CZ\d{8,10})\b")
        .expect("constant regex")
});
static IBAN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")
        .expect("constant regex")
});
/// A legal form after a business's name. The short forms are matched as
/// companies print them ("SA", "AG", "SE", "eG"): matched regardless of
/// case they are everyday words ("sa facture", "se réserve", "Limited
/// warranty"), and a French or German sentence in the payment terms would
/// be taken for the issuer. Long forms no sentence uses ("GmbH", "Sdn
/// Bhd", "S.A.R.L.") match in any case, as OCR and shouting letterheads
/// print them.
static COMPANY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"\b(?:",
        r"(?i:GmbH|OHG|e\.\s?K\.|SARL|S\.A\.R\.L\.|S\.A\.S\.|S\.p\.A\.|S\.r\.l\.|srl|LLC|Inc\.|Corp\.|PLC|GbR",
        r"|Sdn\.?\s*Bhd\.?|Bhd\.?|S/B|Pte\.?\s*Ltd\.?|Pty\.?\s*Ltd\.?|LLP|Co\.,?\s*Ltd\.?|Ltd\.?)",
        r"|AG|KG|UG|SE|SAS|SA|S\.A\.|SNC|Limited|LIMITED|Inc|INC|Corp|CORP|B\.V\.|BV|N\.V\.|NV|S\.L\.|a\.\s?G\.|e\.\s?V\.|eG",
        r")(?:\s*&\s*Co\.?(?:\s*KG)?)?(?:\W|$)"
    ))
    .expect("constant regex")
});
/// Words of amounts, before which "Inc." is "inclusive".
static AMOUNT_WORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:total|amt|amount|price|gst|vat|tax|supplies|sales|incl?)\b")
        .expect("constant regex")
});
/// A Malaysian legal form with nothing before it but "Co." and a state in
/// brackets ("CO. (M) SDN BHD"), as OCR reads it.
static LEGAL_FORM_ALONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\W*(?:co\.?\s*)?(?:\(\w{1,3}\)\s*)?(?:s[dou]n\.?\s*)?bhd\.?$")
        .expect("constant regex")
});
static BUYER_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:bill\s+to|ship\s+to|invoice\s+to|sold\s+to|customer|kunde|rechnungsempf[äa]nger|lieferanschrift|an:|client|factur[ée]\s+[àa]|destinataire|adresse\s+de\s+livraison)")
        .expect("constant regex")
});

/// What the document's numbers and dates look like.
pub(super) struct Style {
    pub decimals: Option<DecimalStyle>,
    pub day_first: bool,
}

/// The document's decimal style and date order, from its own words.
pub(super) fn document_style(pages: &[Page]) -> Style {
    let all_words = || {
        pages
            .iter()
            .flat_map(|p| p.lines.iter().flat_map(|l| l.words.iter()))
    };
    let decimals = guess_decimal_style(all_words().map(|w| w.text.as_str()));
    // The document's own unambiguous dates settle `03/04/2024`; failing
    // those, US notation writes month first and everyone else day first.
    // A "$" counts only on an amount ("$12.50", "12.50$"), not in OCR
    // noise or a "($)" column head, and not where the page names another
    // dollar or a currency of a day-first country (RM, S$, GST).
    let dollar_amount = |t: &str| {
        let t = t.trim_matches(|c: char| matches!(c, '(' | ')' | ',' | ';'));
        t.contains("USD")
            || (t.contains('$')
                && t.trim_matches(|c: char| !c.is_ascii_digit()).len() >= 2
                && t.chars().filter(|c| c.is_alphabetic()).count() <= 2)
    };
    let day_first_currency = |t: &str| {
        matches!(
            t.trim_matches(|c: char| !c.is_alphanumeric() && c != '$'),
            "RM" | "MYR"
                | "SGD"
                | "S$"
                | "AUD"
                | "A$"
                | "NZD"
                | "NZ$"
                | "HKD"
                | "HK$"
                | "CAD"
                | "C$"
                | "GST"
                | "EUR"
                | "GBP"
                | "€"
                | "£"
        )
    };
    let day_first = guess_day_first(all_words().map(|w| w.text.as_str())).unwrap_or_else(|| {
        !(decimals == Some(DecimalStyle::Point)
            && all_words().any(|w| dollar_amount(&w.text))
            && !all_words().any(|w| day_first_currency(&w.text)))
    });
    Style {
        decimals,
        day_first,
    }
}

/// Which of the model's fields (in `model::FIELDS` order) `text` begins
/// with a label of.
pub(super) fn label_kinds(text: &str) -> [bool; 7] {
    let sets: [&[Label]; 7] = [
        &INVOICE_NUMBER,
        &INVOICE_DATE,
        &DUE_DATE,
        &PO_NUMBER,
        &NET,
        &TAX,
        &TOTAL,
    ];
    let mut kinds = sets.map(|labels| labels.iter().any(|l| l.re.is_match(text)));
    kinds[1] |= DATE_WORD.iter().any(|l| l.re.is_match(text));
    kinds
}

/// What a customer handed over at the till: "Cash", "Tunai", "Amount
/// paid", "Tendered".
static TENDERED: LazyLock<Vec<Label>> = LazyLock::new(|| {
    labels(&[
        r"cash(?:\s+tendered)?",
        r"tunai",
        r"(?:paid|tendered)\s+amount",
        r"amount\s+(?:paid|tendered)",
        r"tendered",
        r"bar\s+gegeben",
        r"gegeben",
        r"esp[èe]ces",
        r"efectivo",
    ])
});
/// What the till gave back: "Change", "Baki", "Rückgeld".
static CHANGE: LazyLock<Vec<Label>> = LazyLock::new(|| {
    labels(&[
        r"change(?:\s+due)?",
        r"baki",
        r"kembali",
        r"r[üu]ckgeld",
        r"monnaie\s+rendue",
        r"rendu",
        r"cambio",
    ])
});

/// A till's cash rounding: "Rounding Adj: -0.01", "Rounding Adjustment".
static ROUNDING: LazyLock<Vec<Label>> = LazyLock::new(|| {
    labels(&[
        r"(?:cash\s+)?round(?:ing)?(?:\s+adj(?:ustment|\.|\))?)?",
        r"rundung(?:sdifferenz)?",
    ])
});
/// The most a cash rounding moves a total: to the nearest 0.05 (Malaysia,
/// Switzerland) or 0.10, it moves it by less.
const MAX_ROUNDING: Decimal = Decimal::from_parts(10, 0, 0, false, 2);

/// A prepayment deducted under the total: "Acompte versé", "Anzahlung",
/// "Already paid".
static PREPAID: LazyLock<Vec<Label>> = LazyLock::new(|| {
    labels(&[
        r"(?:prepaid|already\s+paid|deposit\s+paid|less\s+deposit|paid\s+on\s+account|advance\s+payment)(?:\s+amount)?",
        r"acompte(?:\s+vers[ée])?",
        r"d[ée]j[àa]\s+(?:pay[ée]|r[ée]gl[ée])",
        r"montant\s+(?:pay[ée]|r[ée]gl[ée])",
        r"avance\s+re[çc]ue",
        r"(?:abz[üu]glich\s+|geleistete\s+|erhaltene\s+)?anzahlung(?:en)?",
        r"bereits\s+(?:gezahlt|bezahlt|erhalten)(?:e[rn]?\s+betrag)?",
        r"voraus\s*(?:be)?zahlte?r?\s+betrag",
        r"vorauszahlung(?:en)?",
        r"reeds\s+betaald",
        r"aanbetaling",
        r"vooruitbetaling",
        r"anticipo",
        r"ya\s+pagado",
        r"pagos?\s+a\s+cuenta",
        r"acconto",
        r"gi[àa]\s+pagato",
        r"zaliczka",
        r"zap[łl]acono",
        r"wp[łl]acono",
    ])
});
/// What is left to pay after a prepayment.
static PAYABLE: LazyLock<Vec<Label>> = LazyLock::new(|| {
    labels(&[
        r"(?:net|reste|solde|montant|total)\s+[àa]\s+(?:payer|r[ée]gler)",
        r"(?:total\s+|balance\s+|amount\s+)due",
        r"(?:total\s+)?amount\s+payable",
        r"(?:remaining|open|outstanding)\s+amount",
        r"offener\s+betrag",
        r"zahlbetrag",
        r"f[äa]lliger\s+betrag",
        r"noch\s+zu\s+zahlen",
        r"restbetrag",
        r"zu\s+zahlen",
        r"(?:nog\s+)?te\s+betalen",
        r"openstaand\s+bedrag",
        r"total\s+a\s+pagar",
        r"importe\s+pendiente",
        r"netto\s+a\s+pagare",
        r"totale\s+da\s+pagare",
        r"importo\s+dovuto",
        r"(?:pozosta[łl]o\s+)?do\s+zap[łl]aty",
    ])
});
/// The confidence of an amount due the page does not confirm: a person
/// checks it before anything is paid.
const UNCONFIRMED_DUE: f32 = 0.4;

/// A prepayment printed under the total: the total stays the gross, and
/// what is paid is what is left (`amount_due`), as an e-invoice's BT-115
/// says. Read visually, paying the total would pay the prepayment twice.
pub(super) struct Prepayment {
    paid: Field<Decimal>,
    payable: Option<Field<Decimal>>,
}

impl Prepayment {
    fn read(grid: &[Vec<Vec<Cell>>], style: &Style) -> Option<Prepayment> {
        let paid = find_amount(grid, &PREPAID, style)?;
        (!paid.value.is_zero()).then(|| Prepayment {
            paid,
            payable: find_amount(grid, &PAYABLE, style),
        })
    }

    /// Sets the amount due to the total less the prepayment: the page's
    /// own "left to pay" at its confidence when it prints that amount
    /// (within a rounding), else the difference at a low confidence, so
    /// that a person checks it (the total chosen may be the amount left
    /// already, or the prepayment something else).
    /// Applied after the model, which decides the total.
    pub(super) fn apply(&self, inv: &mut ExtractedInvoice) {
        let Some(total) = inv
            .total_amount
            .as_ref()
            .filter(|_| inv.amount_due.is_none())
        else {
            return;
        };
        let left = total.value - self.paid.value.abs();
        inv.amount_due = Some(match &self.payable {
            // Equal, or apart by a printed rounding amount (EN 16931's
            // BT-114): the page's own figure is what is due.
            Some(p) if (p.value - left).abs() < MAX_ROUNDING => Field {
                value: p.value,
                confidence: p.confidence.min(total.confidence),
                location: p.location,
            },
            _ => Field {
                value: left,
                confidence: UNCONFIRMED_DUE,
                location: self.paid.location,
            },
        });
    }
}

/// What the rules read of the pages, and what they apply after the model.
pub(super) struct VisualReading {
    pub invoice: ExtractedInvoice,
    pub after_model: AfterModel,
}

/// Amounts the page implies but does not print as the field (a total less
/// its cash rounding, what is left after a prepayment, cash less change):
/// applied after the model, which chooses among printed values and would
/// drop them.
pub(super) struct AfterModel {
    till: Option<Till>,
    rounding: Option<CashRounding>,
    prepayment: Option<Prepayment>,
}

impl AfterModel {
    /// The rounding first, since it changes the total; then the amount due
    /// from that total; the till's total last, only where none was read.
    pub(super) fn apply(&self, inv: &mut ExtractedInvoice) {
        if let Some(rounding) = &self.rounding {
            rounding.apply(inv);
        }
        if let Some(prepayment) = &self.prepayment {
            prepayment.apply(inv);
        }
        if let Some(till) = &self.till {
            till.close(inv);
        }
    }
}

/// A receipt's cash rounding, printed under a total that is before it:
/// "Total (Inclusive of GST): 48.16 / Rounding Adj: -0.01" is paid as 48.15.
pub(super) struct CashRounding {
    adjustment: Field<Decimal>,
}

impl CashRounding {
    fn read(grid: &[Vec<Vec<Cell>>], style: &Style) -> Option<CashRounding> {
        let adjustment = find_amount(grid, &ROUNDING, style)?;
        (!adjustment.value.is_zero() && adjustment.value.abs() < MAX_ROUNDING)
            .then_some(CashRounding { adjustment })
    }

    /// Adds the adjustment to the total when the total chosen is printed
    /// just above it on the same page (within three lines): a total below
    /// the rounding line is the rounded one already. The sum is printed
    /// nowhere, so it is applied after the model, which chooses among
    /// printed values.
    pub(super) fn apply(&self, inv: &mut ExtractedInvoice) {
        let (Some(total), Some((page, adj))) =
            (inv.total_amount.as_mut(), self.adjustment.location)
        else {
            return;
        };
        let Some((total_page, t)) = total.location else {
            return;
        };
        let line = (adj.y1 - adj.y0).max(1.0);
        if total_page == page && t.y1 <= adj.y0 + 1.0 && adj.y0 - t.y1 <= 3.0 * line {
            total.value += self.adjustment.value;
            total.confidence = total.confidence.min(self.adjustment.confidence);
        }
    }
}

/// The confidence of a total worked out from cash and change: below the
/// default `min_confidence` (`validate::MIN_CONFIDENCE`, 0.5), so that a
/// person checks a total the page never prints before it is paid.
const TILL_CONFIDENCE: f32 = 0.4;

/// A receipt's "CASH 200.00 / CHANGE 10.00": what was tendered, under its
/// label, and the change given, under its own.
pub(super) struct Till {
    tendered: Field<Decimal>,
    change: Decimal,
}

impl Till {
    /// The labelled cash and change on the pages, when the cash exceeds a
    /// change of zero or more.
    fn read(grid: &[Vec<Vec<Cell>>], style: &Style) -> Option<Till> {
        let tendered = find_amount(grid, &TENDERED, style)?;
        let change = find_amount(grid, &CHANGE, style)?.value;
        (change >= Decimal::ZERO && tendered.value > change).then_some(Till { tendered, change })
    }

    /// The total the till closed with, when the total itself was not
    /// read: what was tendered less the change given ("CASH 200.00 /
    /// CHANGE 10.00": 190.00). Faded thermal print often loses the
    /// total's digits while the cash and change lines survive. Taken only
    /// where no total was read, or where the total read is the tendered
    /// amount or zero (a misread); with a confidence that sends the
    /// receipt to review. Applied after the model, which chooses among
    /// printed values and would drop one the page never prints.
    pub(super) fn close(&self, inv: &mut ExtractedInvoice) {
        let misread = inv
            .total_amount
            .as_ref()
            .is_none_or(|t| t.value.is_zero() || t.value == self.tendered.value);
        if misread {
            inv.total_amount = Some(Field {
                value: self.tendered.value - self.change,
                confidence: TILL_CONFIDENCE,
                location: self.tendered.location,
            });
        }
    }
}

pub(super) fn extract_visual(pages: &[Page]) -> ExtractedInvoice {
    read_visual(pages).invoice
}

pub(super) fn read_visual(pages: &[Page]) -> VisualReading {
    let mut inv = ExtractedInvoice::empty(ExtractionSource::Visual);
    let grid: Vec<Vec<Vec<Cell>>> = pages.iter().map(cells_of).collect();
    let text: String = pages
        .iter()
        .flat_map(|p| p.lines.iter().flat_map(|l| l.words.iter()))
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let style = document_style(pages);

    inv.invoice_number = find_labelled(&grid, &INVOICE_NUMBER, invoice_number_value);
    inv.invoice_date = find_labelled(&grid, &INVOICE_DATE, |v| date_value(v, &style))
        .or_else(|| find_labelled(&grid, &DATE_WORD, |v| leading_date(v, &style)))
        .or_else(|| {
            inv.invoice_number
                .as_ref()
                .and_then(|n| date_beside_number(&grid, n, &style))
        })
        .or_else(|| first_date_not_a_version(&grid, &style).map(|f| with_confidence(f, 0.4)));
    inv.due_date = find_labelled(&grid, &DUE_DATE, |v| date_value(v, &style))
        .or_else(|| due_in_terms(&grid, &style));
    inv.po_number = find_labelled(&grid, &PO_NUMBER, reference_value);
    inv.net_amount = find_amount(&grid, &NET, &style);
    inv.total_amount = find_amount(&grid, &TOTAL, &style);
    inv.tax_amount = tax_amount(&grid, &style, &inv);
    reconcile_totals(&mut inv);
    close_totals_from_the_page(&mut inv, &grid, &style);
    inv.iban = labelled_iban(&grid)
        .or_else(|| iban_in_groups(&grid))
        .or_else(|| {
            first_match(&grid, |v| {
                IBAN.find_iter(v).find_map(|m| parse_iban(m.as_str()))
            })
        });
    inv.vendor_vat_id = seller_vat_id(&grid);
    inv.vendor_name = vendor_name(&grid);
    inv.credit_note = credit_note_title(pages);
    inv.currency = currency(&text).map(|c| Field {
        value: c.to_string(),
        confidence: 0.8,
        location: None,
    });
    inv.line_items = table::line_items(pages, &grid, style.decimals);
    VisualReading {
        invoice: inv,
        after_model: AfterModel {
            till: Till::read(&grid, &style),
            rounding: CashRounding::read(&grid, &style),
            prepayment: Prepayment::read(&grid, &style),
        },
    }
}

static IBAN_LABEL: LazyLock<Vec<Label>> = LazyLock::new(|| labels(&[r"(?:[\wäöü]+-)?iban"]));
static IBAN_SHAPE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$").expect("constant regex"));

/// The value printed after "IBAN", even when its checksum fails: a clerk
/// must see a wrong IBAN (validation flags it), not silently lose it.
fn labelled_iban(grid: &[Vec<Vec<Cell>>]) -> Option<Field<String>> {
    find_labelled(grid, &IBAN_LABEL, |v| {
        let compact: String = v
            .split([',', ';'])
            .next()?
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_uppercase();
        let compact = compact.split("BIC").next().unwrap_or_default().to_string();
        if IBAN_SHAPE.is_match(&compact) {
            Some(compact)
        } else {
            ocr_repaired_iban(&compact)
        }
    })
    .map(|f| {
        let ok = parse_iban(&f.value).is_some();
        with_confidence(f, if ok { 0.9 } else { 0.4 })
    })
}

/// An IBAN read as separate cells after its label, one group of four per
/// cell: OCR boxes hug the glyphs, so the spaces between the groups are as
/// wide as the gaps between columns. The groups end at the first word that
/// is no group or names the BIC; a joined value that fails the checksum is
/// kept with a low confidence, as a printed one is.
fn iban_in_groups(grid: &[Vec<Vec<Cell>>]) -> Option<Field<String>> {
    static GROUP: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^[A-Za-z0-9]{1,4}$").expect("constant regex"));
    static NOT_A_GROUP: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?i)^(?:bic|swift|bank)$").expect("constant regex"));
    for line in grid.iter().flatten() {
        let Some((label, rest)) = line.iter().enumerate().find_map(|(i, c)| {
            IBAN_LABEL
                .iter()
                .find_map(|l| l.re.find(&c.text))
                .map(|m| (i, &c.text[m.end()..]))
        }) else {
            continue;
        };
        // Words after the label, each with the box of its cell.
        let words = rest
            .split_whitespace()
            .map(|w| (w, line[label].bbox))
            .chain(
                line[label + 1..]
                    .iter()
                    .flat_map(|c| c.text.split_whitespace().map(move |w| (w, c.bbox))),
            )
            .map(|(w, b)| (w.trim_start_matches(':'), b))
            .filter(|(w, _)| !w.is_empty());
        let groups: Vec<(&str, BBox)> = words
            .take_while(|(w, _)| GROUP.is_match(w) && !NOT_A_GROUP.is_match(w))
            .take(9)
            .collect();
        let compact: String = groups.iter().map(|(w, _)| w.to_uppercase()).collect();
        let (value, confidence) = match parse_iban(&compact).or_else(|| ocr_repaired_iban(&compact))
        {
            Some(valid) => (valid, 0.85),
            // Shown as printed but doubted, as `labelled_iban` does.
            None if IBAN_SHAPE.is_match(&compact) => (compact, 0.4),
            None => continue,
        };
        let (_, first) = groups.first()?;
        let bbox = groups.iter().map(|(_, b)| *b).fold(*first, BBox::union);
        return Some(Field {
            value,
            confidence,
            location: Some((line[label].page, bbox)),
        });
    }
    None
}

/// An IBAN with OCR's usual letter-for-digit slips undone ("DEO2…" for
/// "DE02…"). The check digits are always digits, so look-alike letters
/// there are read as digits first; failing that, look-alikes anywhere
/// after the country code. The result must pass the checksum, which a
/// random slip fails 96 times in 97.
fn ocr_repaired_iban(compact: &str) -> Option<String> {
    let digit = |c: char| match c {
        'O' | 'Q' | 'D' => '0',
        'I' | 'L' | '|' => '1',
        'Z' => '2',
        'S' => '5',
        'B' => '8',
        c => c,
    };
    let chars: Vec<char> = compact.chars().collect();
    if chars.len() < 15 || !chars[..2].iter().all(char::is_ascii_uppercase) {
        return None;
    }
    // Look-alikes read as digits from the check digits up to `end`.
    let repaired = |end: usize| -> String {
        chars
            .iter()
            .enumerate()
            .map(|(i, &c)| if (2..end).contains(&i) { digit(c) } else { c })
            .collect()
    };
    parse_iban(&repaired(4)).or_else(|| parse_iban(&repaired(chars.len())))
}

static DATED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:vom|du|dated|of|from|le)\s+(.{6,20})$").expect("constant regex")
});

/// "Rechnung Nr. 471102 vom 05.06.2018": the date in the number's own cell.
fn date_beside_number(
    grid: &[Vec<Vec<Cell>>],
    number: &Field<String>,
    style: &Style,
) -> Option<Field<NaiveDate>> {
    let (page, bbox) = number.location?;
    let lines = grid.get(usize::try_from(page).ok()?.checked_sub(1)?)?;
    let (li, ci) = lines
        .iter()
        .enumerate()
        .find_map(|(li, l)| l.iter().position(|c| c.bbox == bbox).map(|i| (li, i)))?;
    let line = &lines[li];
    let cell = &line[ci];
    // "… Nr. 471102 vom 05.03.2018": the date may follow in the same cell
    // or, as OCR spaces words, in the cells after it.
    let mut after = cell.text.split_once(number.value.as_str())?.1.to_string();
    for c in &line[ci + 1..] {
        after.push(' ');
        after.push_str(&c.text);
    }
    if let Some(m) = DATED.captures(after.trim()) {
        let date = m.get(1)?.as_str();
        // Where the date is printed: the number's own cell, or (OCR'd) a
        // cell after it; the review screen highlights that box.
        let first_word = date.split_whitespace().next().unwrap_or(date);
        let at = line[ci + 1..]
            .iter()
            .find(|c| c.text.contains(first_word))
            .filter(|_| {
                !cell
                    .text
                    .split_once(number.value.as_str())
                    .is_some_and(|(_, rest)| rest.contains(first_word))
            })
            .unwrap_or(cell);
        return date_value(date, style).map(|d| field(d, 0.85, at));
    }
    // "… Nr. 471102 vom" at the end of the line, the date wrapped onto the
    // next one.
    if DATED_END.is_match(after.trim()) {
        let next = lines.get(li + 1)?.first()?;
        return date_value(&next.text, style).map(|d| field(d, 0.8, next));
    }
    None
}

static DATED_END: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:^|\s)(?:vom|du|dated|of|from|le)$").expect("constant regex")
});

static DUE_SENTENCE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:zahlbar|netto|f[äa]llig)[^,;]*?\bbis(?:\s+zum)?\s+(\S+)|(?:pay(?:able)?|due)\s+(?:by|before|until|on)\s+([\w ,.]{6,20})|[àa]\s+(?:r[ée]gler|payer)\s+avant\s+le\s+(\S+)")
        .expect("constant regex")
});

/// "Zahlbar innerhalb 30 Tagen netto bis 04.07.2018": a due date inside a
/// sentence of the payment terms.
fn due_in_terms(grid: &[Vec<Vec<Cell>>], style: &Style) -> Option<Field<NaiveDate>> {
    grid.iter().flatten().flatten().find_map(|c| {
        let caps = DUE_SENTENCE.captures(&c.text)?;
        let text = caps.iter().skip(1).flatten().next()?.as_str();
        date_value(text, style).map(|d| field(d, 0.6, c))
    })
}

fn with_confidence<T>(mut f: Field<T>, c: f32) -> Field<T> {
    f.confidence = c;
    f
}

/// For each label, in order of preference, the value next to or below it.
fn find_labelled<T>(
    grid: &[Vec<Vec<Cell>>],
    labels: &[Label],
    parse: impl Fn(&str) -> Option<T>,
) -> Option<Field<T>> {
    for label in labels {
        for page in grid {
            for (li, line) in page.iter().enumerate() {
                for (ci, cell) in line.iter().enumerate() {
                    // A label may be spread over several cells when a PDF
                    // spaces its words widely ("Rechnung   Nr.   4711"):
                    // match on the rest of the line, then find the cell
                    // where the label ends.
                    let (joined, ends) = join_from(&line[ci..]);
                    let Some(m) = label.re.find(&joined) else {
                        continue;
                    };
                    // The separator the label ends with may be the space
                    // that joined two cells: the label ends before it.
                    let end = m.start() + m.as_str().trim_end().len();
                    let Some(k) = ends.iter().position(|&e| end <= e) else {
                        continue;
                    };
                    let last = &line[ci + k];
                    let start_in_last = end.saturating_sub(ends[k] - last.text.len());
                    let rest = last.text.get(start_in_last..).unwrap_or_default().trim();
                    if !rest.is_empty() {
                        if let Some(v) = parse(rest) {
                            return Some(field(v, 0.9, last));
                        }
                        // The label's own cell continues with something
                        // else: it was a word in a sentence, not a label.
                        if rest.len() > 3 {
                            continue;
                        }
                    }
                    if let Some(next) = line.get(ci + k + 1)
                        && let Some(v) = parse(next.text.trim())
                    {
                        return Some(field(v, 0.85, next));
                    }
                    if let Some(below) = cell_below(page, li, cell)
                        && let Some(v) = parse(below.text.trim())
                    {
                        return Some(field(v, 0.7, below));
                    }
                }
            }
        }
    }
    None
}

/// The cells' texts joined by single spaces, with the end offset of each.
fn join_from(cells: &[Cell]) -> (String, Vec<usize>) {
    let mut joined = String::new();
    let mut ends = Vec::with_capacity(cells.len());
    for (i, c) in cells.iter().enumerate() {
        if i > 0 {
            joined.push(' ');
        }
        joined.push_str(&c.text);
        ends.push(joined.len());
    }
    (joined, ends)
}

/// The cell on the next line or two that overlaps `cell` horizontally.
fn cell_below<'a>(page: &'a [Vec<Cell>], line: usize, cell: &Cell) -> Option<&'a Cell> {
    page.iter().skip(line + 1).take(2).find_map(|l| {
        l.iter().find(|c| {
            c.bbox.x0 < cell.bbox.x1
                && c.bbox.x1 > cell.bbox.x0
                && c.bbox.y0 - cell.bbox.y1 < 3.0 * (cell.bbox.y1 - cell.bbox.y0)
        })
    })
}

fn first_match<T>(grid: &[Vec<Vec<Cell>>], parse: impl Fn(&str) -> Option<T>) -> Option<Field<T>> {
    grid.iter()
        .flatten()
        .flatten()
        .find_map(|c| parse(&c.text).map(|v| field(v, 0.6, c)))
}

/// "ZUGFeRD-Version: 2.1 vom 24.03.2020", "Stand: 01.01.2026": the date of
/// a form or a price list printed on the invoice, not its issue date.
static VERSION_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)version|\bstand\s*:|\brev(?:ision)?\.?\s*:").expect("constant regex")
});

/// The first date on the pages, skipping lines that date a version.
fn first_date_not_a_version(grid: &[Vec<Vec<Cell>>], style: &Style) -> Option<Field<NaiveDate>> {
    grid.iter()
        .flatten()
        .filter(|line| !line.iter().any(|c| VERSION_DATE.is_match(&c.text)))
        .flatten()
        .find_map(|c| date_value(&c.text, style).map(|v| field(v, 0.6, c)))
}

/// The seller's VAT id: the first VAT-id-shaped value that is not the
/// buyer's. Pages carry the buyer's too (its address block, "Kunden-USt-
/// IdNr.", "Customer VAT"); taking the first one read the buyer's whenever
/// its block came first. A value belongs to the buyer when its own line
/// says so before it, or when the nearest block heading above it in its
/// column (within 8 lines) is a buyer's rather than a seller's. When every
/// candidate looks like the buyer's, the first one stands.
fn seller_vat_id(grid: &[Vec<Vec<Cell>>]) -> Option<Field<String>> {
    let mut first_any = None;
    for page in grid {
        // Each block heading: the lines its block covers (the heading's
        // own line through the last one that goes on below it in its
        // column without a gap), its column, and whether it is the buyer's.
        let mut blocks: Vec<(usize, usize, f32, f32, bool)> = Vec::new();
        for (li, line) in page.iter().enumerate() {
            // A heading labels what follows; "Kunden-USt-IdNr.: DE..."
            // carries its value and is judged on its own line instead.
            for cell in line
                .iter()
                .filter(|c| c.text.chars().filter(char::is_ascii_digit).count() < 5)
            {
                let buyer = BUYER_LABEL.is_match(&cell.text);
                if buyer || SELLER_HEADING.is_match(&cell.text) {
                    let (x0, x1) = (cell.bbox.x0 - 5.0, cell.bbox.x0 + 250.0);
                    let end = block_end(page, li, x0, x1);
                    blocks.push((li, end, x0, x1, buyer));
                }
            }
        }
        for (li, line) in page.iter().enumerate() {
            for (ci, cell) in line.iter().enumerate() {
                let compact = cell.text.replace(' ', "");
                let Some(m) = VAT_ID.find(&compact) else {
                    continue;
                };
                let found = field(m.as_str().to_string(), 0.6, cell);
                let said_on_line = line[..=ci].iter().any(|c| BUYER_LABEL.is_match(&c.text));
                let x = cell.bbox.x0;
                // The nearest heading above whose block reaches this line.
                let under_buyer = blocks
                    .iter()
                    .filter(|(from, to, x0, x1, _)| {
                        li >= *from && li <= *to && x >= *x0 && x <= *x1
                    })
                    .max_by_key(|b| b.0)
                    .is_some_and(|b| b.4);
                if !said_on_line && !under_buyer {
                    return Some(found);
                }
                first_any.get_or_insert(found);
            }
        }
    }
    first_any
}

/// The last line of an address block that starts at line `from`: the
/// lines below that go on in the column `x0..x1` with no more than a
/// blank line's gap, eight at most.
fn block_end(page: &[Vec<Cell>], from: usize, x0: f32, x1: f32) -> usize {
    let in_column = |l: &Vec<Cell>| {
        l.iter()
            .filter(|c| c.bbox.x0 >= x0 && c.bbox.x0 <= x1)
            .map(|c| c.bbox)
            .reduce(BBox::union)
    };
    let mut end = from;
    let mut last = page.get(from).and_then(in_column);
    for (li, line) in page.iter().enumerate().skip(from + 1).take(8) {
        let (Some(prev), Some(here)) = (last, in_column(line)) else {
            break;
        };
        if here.y0 - prev.y1 > 2.0 * (prev.y1 - prev.y0).max(8.0) {
            break;
        }
        end = li;
        last = Some(here);
    }
    end
}

fn field<T>(value: T, confidence: f32, cell: &Cell) -> Field<T> {
    Field {
        value,
        confidence,
        location: Some((cell.page, cell.bbox)),
    }
}

/// The amount for a totals label: the amount at the end of the label's
/// cell (`MwSt. 19 % 190,00`), else the first following cell that is an
/// amount and nothing else.
fn find_amount(grid: &[Vec<Vec<Cell>>], labels: &[Label], style: &Style) -> Option<Field<Decimal>> {
    amounts_for(grid, labels, style).into_iter().next()
}

/// Every labelled amount, for each label in order of preference, bottom-most
/// first: the summary block sits below the table, where the same words may
/// appear as column headers.
fn amounts_for(grid: &[Vec<Vec<Cell>>], labels: &[Label], style: &Style) -> Vec<Field<Decimal>> {
    let mut out: Vec<Field<Decimal>> = Vec::new();
    for label in labels {
        for page in grid.iter().rev() {
            for line in page.iter().rev() {
                let Some(ci) = line.iter().position(|c| label.re.is_match(&c.text)) else {
                    continue;
                };
                let cell = &line[ci];
                // "GST No.: 000689713854", "VAT Reg. No": a registration
                // number, not an amount.
                if REGISTRATION_NUMBER.is_match(&cell.text) {
                    continue;
                }
                let rest = label
                    .re
                    .find(&cell.text)
                    .map_or("", |m| &cell.text[m.end()..]);
                let rest_amount = amount_value(rest, style);
                // "Gesamtbetrag der Zuschläge": the label word begins a
                // different label.
                if rest_amount.is_none() && rest.chars().filter(|c| c.is_alphabetic()).count() > 3 {
                    continue;
                }
                let found = rest_amount.map(|v| field(v, 0.8, cell)).or_else(|| {
                    // The same holds when the qualifier stands in cells of
                    // its own (OCR spaces words more widely): words before
                    // the amount make it another label's amount.
                    for c in &line[ci + 1..] {
                        if let Some(v) = amount_cell(&c.text, style) {
                            return Some(field(v, 0.8, c));
                        }
                        let letters = c.text.chars().filter(|ch| ch.is_alphabetic()).count();
                        if letters > 3 && currency_code(c.text.trim()).is_none() {
                            return None;
                        }
                    }
                    None
                });
                if let Some(f) = found
                    && !out.iter().any(|o| o.location == f.location)
                {
                    out.push(f);
                }
            }
        }
    }
    out
}

static REGISTRATION_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:gst|vat|tax|tva|ust|mwst|btw|iva)\s*[-.]?\s*(?:reg(?:istration)?\.?\s*)?(?:no\b|nr\b|id\b|number|#|ident)")
        .expect("constant regex")
});

/// A cell that holds one amount, optionally with a currency sign or code.
fn amount_cell(text: &str, style: &Style) -> Option<Decimal> {
    let t = text.trim();
    if !t.chars().any(|c| c.is_ascii_digit())
        || t.chars()
            .any(|c| c.is_alphabetic() && !"EURSDGBPCHF".contains(c))
    {
        return None;
    }
    parse_amount(t, style.decimals)
}

/// When the labelled amounts do not close (net + tax = total), a missing
/// one is derived only if the other two are present: a derived value is
/// marked with lower confidence and no box.
/// Net, tax and total were all read but do not add up: where the page
/// prints the amount that would close them (total - net as the tax, else
/// total - tax as the net), that is the one that was misread. A VAT
/// breakdown's taxable amount or rate under a "Tax" heading reads before
/// "Total tax amount: 3.904,31"; the arithmetic, with the printed value as
/// its evidence, tells them apart.
fn close_totals_from_the_page(inv: &mut ExtractedInvoice, grid: &[Vec<Vec<Cell>>], style: &Style) {
    let get = |f: &Option<Field<Decimal>>| f.as_ref().map(|f| f.value);
    let (Some(n), Some(t), Some(g)) = (
        get(&inv.net_amount),
        get(&inv.tax_amount),
        get(&inv.total_amount),
    ) else {
        return;
    };
    if n + t == g || g <= Decimal::ZERO {
        return;
    }
    // "Total Sales (Excluding GST)" read as the total and "(Inclusive of
    // GST)" as the net: the three add up the other way round.
    if g + t == n && t > Decimal::ZERO {
        std::mem::swap(&mut inv.net_amount, &mut inv.total_amount);
        return;
    }
    let printed = |value: Decimal| {
        grid.iter()
            .flatten()
            .flatten()
            .find(|c| amount_value(&c.text, style) == Some(value))
    };
    let tax = g - n;
    if tax >= Decimal::ZERO
        && tax < n
        && let Some(cell) = printed(tax)
    {
        inv.tax_amount = Some(field(tax, 0.6, cell));
        return;
    }
    let net = g - t;
    if net > Decimal::ZERO
        && t < net
        && let Some(cell) = printed(net)
    {
        inv.net_amount = Some(field(net, 0.6, cell));
    }
}

fn reconcile_totals(inv: &mut ExtractedInvoice) {
    let get = |f: &Option<Field<Decimal>>| f.as_ref().map(|f| f.value);
    match (
        get(&inv.net_amount),
        get(&inv.tax_amount),
        get(&inv.total_amount),
    ) {
        (Some(n), Some(t), None) => {
            inv.total_amount = Some(Field {
                value: n + t,
                confidence: 0.5,
                location: None,
            })
        }
        (Some(n), None, Some(g)) if g >= n => {
            inv.tax_amount = Some(Field {
                value: g - n,
                confidence: 0.5,
                location: None,
            })
        }
        (None, Some(t), Some(g)) if g >= t => {
            inv.net_amount = Some(Field {
                value: g - t,
                confidence: 0.5,
                location: None,
            })
        }
        (Some(n), Some(t), Some(g)) if n + t != g => {
            for f in [
                &mut inv.net_amount,
                &mut inv.tax_amount,
                &mut inv.total_amount,
            ]
            .into_iter()
            .flatten()
            {
                f.confidence = f.confidence.min(0.5);
            }
        }
        _ => {}
    }
}

/// The tax amount; with several rates (`7 %` and `19 %` lines), their sum
/// when that sum closes net + tax = total.
fn tax_amount(
    grid: &[Vec<Vec<Cell>>],
    style: &Style,
    inv: &ExtractedInvoice,
) -> Option<Field<Decimal>> {
    let found = amounts_for(grid, &TAX, style);
    let (net, total) = (
        inv.net_amount.as_ref().map(|f| f.value),
        inv.total_amount.as_ref().map(|f| f.value),
    );
    if let (Some(net), Some(total), Some(first)) = (net, total, found.first())
        && net + first.value != total
        && found.len() > 1
    {
        // Another labelled amount that closes net + tax = total beats the
        // first one read (a VAT breakdown's rate column under a "Tax"
        // heading reads before "Total tax amount: 3.904,31").
        if let Some(closing) = found.iter().find(|f| net + f.value == total) {
            return Some(closing.clone());
        }
        let sum: Decimal = found.iter().map(|f| f.value).sum();
        if net + sum == total {
            return Some(Field {
                value: sum,
                confidence: 0.75,
                location: first.location,
            });
        }
    }
    found.into_iter().next()
}

pub(super) fn amount_value(text: &str, style: &Style) -> Option<Decimal> {
    // The last amount-looking token of the text (after "19 %" and the like).
    let tokens: Vec<&str> = text.split_whitespace().collect();
    for i in (0..tokens.len()).rev() {
        let tok = tokens[i];
        if tok.ends_with('%') || tokens.get(i + 1).is_some_and(|n| *n == "%") {
            continue;
        }
        // Re-join "1 234,56" written with a space as thousands separator.
        let joined = if i > 0
            && tokens[i - 1].len() <= 3
            && tokens[i - 1].chars().all(|c| c.is_ascii_digit())
            && tok.len() >= 6
        {
            format!("{}{}", tokens[i - 1], tok)
        } else {
            tok.to_string()
        };
        if !tok.chars().any(|c| c.is_ascii_digit()) {
            continue;
        }
        if let Some(v) =
            parse_amount(&joined, style.decimals).or_else(|| parse_amount(tok, style.decimals))
        {
            return Some(v);
        }
    }
    None
}

pub(super) fn date_value(text: &str, style: &Style) -> Option<NaiveDate> {
    let tokens = date_tokens(text);
    // A date is one token (05.03.2026), three (5. März 2026, Mar 5, 2026)
    // or five (5 de marzo de 2026).
    for window in [1usize, 3, 5] {
        for start in 0..tokens.len() {
            let Some(slice) = tokens.get(start..start + window) else {
                break;
            };
            if let Some(d) = parse_date(&slice.join(" "), style.day_first) {
                return Some(d);
            }
        }
    }
    None
}

/// The words of `text` a date is looked for in, without the quotes OCR
/// hangs on them ("04/12/2017’").
fn date_tokens(text: &str) -> Vec<&str> {
    text.split_whitespace()
        .map(|t| t.trim_matches(|c| matches!(c, '’' | '‘' | '\'' | '"' | '`')))
        .filter(|t| !t.is_empty())
        .collect()
}

/// A date that `text` begins with, after any separators.
fn leading_date(text: &str, style: &Style) -> Option<NaiveDate> {
    let tokens: Vec<&str> = date_tokens(text)
        .into_iter()
        .skip_while(|t| t.chars().all(|c| matches!(c, ':' | '.' | '-' | '#')))
        .collect();
    [1usize, 3, 5]
        .into_iter()
        .find_map(|n| parse_date(&tokens.get(..n)?.join(" "), style.day_first))
}

/// An invoice or order number: the first token holding a digit, not a date.
fn reference_value(text: &str) -> Option<String> {
    let token = text
        .split_whitespace()
        .map(|t| t.trim_matches(|c: char| matches!(c, ':' | ',' | ';' | '(' | ')')))
        .find(|t| t.chars().any(|c| c.is_ascii_digit()))?;
    if parse_date(token, true).is_some() || token.len() > 40 {
        return None;
    }
    Some(token.to_string())
}

fn invoice_number_value(text: &str) -> Option<String> {
    reference_value(text)
}

/// The issuer: the first company-looking cell outside the buyer's address
/// block, else the first line of the first page.
fn vendor_name(grid: &[Vec<Vec<Cell>>]) -> Option<Field<String>> {
    if let Some(f) = seller_section_name(grid) {
        return Some(f);
    }
    let page = grid.first()?;
    let mut buyer_block: Option<(usize, f32, f32)> = None;
    for (li, line) in page.iter().enumerate() {
        for (ci, cell) in line.iter().enumerate() {
            if BUYER_LABEL.is_match(&cell.text) {
                buyer_block = Some((li, cell.bbox.x0 - 5.0, cell.bbox.x1 + 150.0));
            }
            let in_buyer = buyer_block.is_some_and(|(bl, x0, x1)| {
                li > bl && li <= bl + 5 && cell.bbox.x0 >= x0 && cell.bbox.x0 <= x1
            });
            if in_buyer || BUYER_LABEL.is_match(&cell.text) {
                continue;
            }
            let Some(m) = COMPANY.find(&cell.text) else {
                continue;
            };
            // "Total Inc.", "PRICE IS GST INC": "inclusive", not a company.
            if AMOUNT_WORD.is_match(&cell.text[..m.start()]) {
                continue;
            }
            // "Lieferant GmbH · Straße 1 · 12345 Ort": keep the name part.
            let name = cell.text[..m.end()]
                .split(['·', '|', ','])
                .next()
                .unwrap_or_default()
                .trim();
            let name = name.trim_end_matches(|c: char| !c.is_alphanumeric() && c != '.');
            // A legal form alone ("SDN BHD", OCR's "SON BHD") ends a name
            // too long for one line of a receipt: the line above begins it.
            // A legal form alone ("SDN BHD", OCR's "SON BHD") ends a name
            // split into cells or too long for one line of a receipt: the
            // cells before it on its line begin it, else the line above.
            if LEGAL_FORM_ALONE.is_match(name)
                && let Some((start, bbox)) = name_start(page, li, ci)
            {
                return Some(Field {
                    value: ocr_name(&format!("{start} {name}")),
                    confidence: 0.6,
                    location: Some((cell.page, bbox.union(cell.bbox))),
                });
            }
            if name.len() >= 3 {
                return Some(field(name.to_string(), 0.7, cell));
            }
        }
    }
    // No seller block, no legal form: the first line near the top that
    // reads as a name (a letterhead, a shop's name over its receipt), not
    // OCR specks, a phone number or a labelled field.
    let top = page.first()?.first()?.bbox.y0;
    page.iter()
        .take_while(|line| line.first().is_some_and(|c| c.bbox.y0 < top + 250.0))
        .find_map(|line| {
            let (text, _) = join_from(line);
            let bbox = line.iter().map(|c| c.bbox).reduce(BBox::union)?;
            let first = line.first()?;
            looks_like_a_name(&text).then(|| Field {
                value: text.trim().to_string(),
                confidence: 0.3,
                location: Some((first.page, bbox)),
            })
        })
        .or_else(|| page.first()?.first().map(|c| field(c.text.clone(), 0.3, c)))
}

/// A name as OCR misreads its letters: a digit inside a word of letters
/// ("D.1.Y." for "D.I.Y.", "0RANGE") is the letter it looks like, and
/// Malaysia's "Sdn Bhd" read as "SON BHD" or "SUN BHD" is that legal form.
fn ocr_name(text: &str) -> String {
    static SDN: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?i)\bS[OU0]N(\.?\s*BHD)").expect("constant regex"));
    let words: Vec<String> = text
        .split(' ')
        .map(|w| {
            if w.chars().filter(|c| c.is_alphabetic()).count() < 2 {
                return w.to_string();
            }
            w.chars()
                .map(|c| match c {
                    '0' => 'O',
                    '1' => 'I',
                    '5' => 'S',
                    '8' => 'B',
                    c => c,
                })
                .collect()
        })
        .collect();
    SDN.replace_all(&words.join(" "), "SDN$1").into_owned()
}

/// The words before a legal form printed alone in cell `ci` of line `li`:
/// the cells left of it on its line, else the line right above.
fn name_start(page: &[Vec<Cell>], li: usize, ci: usize) -> Option<(String, BBox)> {
    let wordy =
        |t: &str| t.chars().filter(|c| c.is_alphabetic()).count() >= 2 && !FIELD_LABEL.is_match(t);
    let line = page.get(li)?;
    let cell = line.get(ci)?;
    let left = &line[..ci];
    let (text, _) = join_from(left);
    if wordy(&text) {
        return Some((text, left.iter().map(|c| c.bbox).reduce(BBox::union)?));
    }
    let above = page.get(li.checked_sub(1)?)?;
    let bbox = above.iter().map(|c| c.bbox).reduce(BBox::union)?;
    let height = cell.bbox.y1 - cell.bbox.y0;
    let (text, _) = join_from(above);
    (cell.bbox.y0 - bbox.y1 < height && wordy(&text)).then_some((text, bbox))
}

/// A line that could be a business's name: mostly letters (at least
/// five), words of more than one letter, no label colon, no amount.
fn looks_like_a_name(text: &str) -> bool {
    let t = text.trim();
    let letters = t.chars().filter(|c| c.is_alphabetic()).count();
    let others = t
        .chars()
        .filter(|c| !c.is_alphabetic() && !c.is_whitespace())
        .count();
    let long_words = t
        .split_whitespace()
        .filter(|w| w.chars().filter(|c| c.is_alphabetic()).count() >= 2)
        .count();
    letters >= 5
        && 4 * others <= letters
        && long_words >= 1
        && !t.contains(':')
        && !DOCUMENT_TITLE.is_match(t)
}

/// A credit note's title at the head of the first page ("Credit Note",
/// "Gutschrift", "Avoir", "Nota di credito", "Creditnota"). Printed credit
/// notes often show positive amounts, as e-invoices do: read as an invoice
/// it would be paid to the vendor. A false alarm costs a review, a miss a
/// payment, so any such title in the top third of page 1 counts.
fn credit_note_title(pages: &[Page]) -> Option<Field<String>> {
    let page = pages.first()?;
    page.lines.iter().find_map(|line| {
        let b = line.bbox()?;
        if b.y0 > page.height / 3.0 {
            return None;
        }
        let text = line.text();
        let found = CREDIT_NOTE_TITLE.find(&text)?;
        // German "Gutschrift" also names a self-billed invoice (UNTDID
        // 389), which is paid as usual; such a title says so.
        if SELF_BILLED.is_match(&text) {
            return None;
        }
        Some(Field {
            value: format!("credit note (titled {:?})", found.as_str().trim()),
            confidence: 0.9,
            location: Some((page.number, b)),
        })
    })
}

static CREDIT_NOTE_TITLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(?:credit\s*(?:note|memo)|gutschrift|avoir|nota\s+(?:di|de)\s+cr[ée]dito|creditnota|creditfactuur|kreditnota|fakturakorrigering)\b")
        .expect("constant regex")
});

static SELF_BILLED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)selbst\s*ausgestellt|self[-\s]*billed|gutschriftsverfahren|autofactur|\(389\)")
        .expect("constant regex")
});

/// The document's title ("INVOICE", "Rechnung", "TAX INVOICE"), which
/// heads many pages above or beside the vendor's name.
static DOCUMENT_TITLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(?:tax\s+|simplified\s+|official\s+)?(?:invoice|rechnung|facture|factura|fattura|factuur|faktura|receipt|quittung|kassenbon|re[çc]u|credit\s+note|gutschrift|avoir)\b")
        .expect("constant regex")
});

static SELLER_HEADING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(?:verk[äa]ufer|lieferant|rechnungssteller|leistungserbringer|seller|supplier|vendor|fournisseur|vendeur|[ée]metteur)\s*:?\s*$").expect("constant regex")
});
static NAME_LABEL: LazyLock<Vec<Label>> =
    LazyLock::new(|| labels(&[r"name", r"firma", r"company", r"raison\s+sociale", r"nom"]));
static FIELD_LABEL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[\w .()/-]{2,30}:").expect("constant regex"));

/// A block headed "Verkäufer" / "Seller" / "Fournisseur": its "Name:"
/// line, else its first line that is not another labelled field.
fn seller_section_name(grid: &[Vec<Vec<Cell>>]) -> Option<Field<String>> {
    for page in grid {
        for (li, line) in page.iter().enumerate() {
            let Some(head) = line.iter().find(|c| SELLER_HEADING.is_match(&c.text)) else {
                continue;
            };
            let block: Vec<Vec<Cell>> = page
                .iter()
                .skip(li + 1)
                .take(6)
                .map(|l| {
                    l.iter()
                        .filter(|c| c.bbox.x0 >= head.bbox.x0 - 5.0)
                        .cloned()
                        .collect()
                })
                .collect();
            if let Some(f) = find_labelled(std::slice::from_ref(&block), &NAME_LABEL, |v| {
                (v.chars().filter(|c| c.is_alphabetic()).count() >= 2).then(|| v.to_string())
            }) {
                return Some(with_confidence(f, 0.8));
            }
            // Judge whole lines: wide-spaced producers split "Globale
            // Nummer:" into cells.
            let first = block.iter().filter(|l| !l.is_empty()).find_map(|l| {
                let (text, _) = join_from(l);
                let bbox = l.iter().map(|c| c.bbox).reduce(BBox::union)?;
                (!FIELD_LABEL.is_match(&text)
                    && text.chars().filter(|c| c.is_alphabetic()).count() >= 3)
                    .then_some((text, bbox))
            })?;
            return Some(Field {
                value: first.0,
                confidence: 0.7,
                location: Some((head.page, first.1)),
            });
        }
    }
    None
}

fn currency(text: &str) -> Option<&'static str> {
    let mut counts: Vec<(&'static str, usize)> = Vec::new();
    for tok in text.split_whitespace() {
        let found = currency_code(tok).or_else(|| {
            ["€", "$", "£"]
                .iter()
                .find(|s| tok.contains(**s))
                .and_then(|s| currency_code(s))
        });
        if let Some(code) = found {
            match counts.iter_mut().find(|(c, _)| *c == code) {
                Some((_, n)) => *n += 1,
                None => counts.push((code, 1)),
            }
        }
    }
    counts.into_iter().max_by_key(|&(_, n)| n).map(|(c, _)| c)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::domain::Word;

    /// Builds a page from lines of `(x, text)` cells; each line 12 pt below
    /// the last, words 5 pt per character. Shared with the model's tests.
    pub(in crate::extract) fn page(lines: &[&[(f32, &str)]]) -> Page {
        let lines = lines
            .iter()
            .enumerate()
            .map(|(i, cells)| {
                let y = 50.0 + 12.0 * i as f32;
                let mut words = Vec::new();
                for (x, text) in cells.iter() {
                    let mut x = *x;
                    for w in text.split(' ') {
                        let width = 5.0 * w.chars().count() as f32;
                        words.push(Word {
                            text: w.to_string(),
                            bbox: BBox {
                                x0: x,
                                y0: y - 8.0,
                                x1: x + width,
                                y1: y + 2.0,
                            },
                            confidence: 1.0,
                        });
                        x += width + 2.5;
                    }
                }
                Line { words }
            })
            .collect();
        Page {
            number: 1,
            width: 595.0,
            height: 842.0,
            lines,
        }
    }

    #[test]
    fn totals_that_do_not_add_up_are_closed_by_the_amount_the_page_prints() {
        let tax = |breakdown: &str| {
            let inv = extract_visual(&[page(&[
                &[(50.0, "Net amount"), (400.0, "100.00")],
                &[(50.0, "Tax"), (400.0, "7.00")],
                &[(50.0, "Total"), (400.0, "119.00")],
                &[(50.0, "VAT breakdown"), (400.0, breakdown)],
            ])]);
            inv.tax_amount.map(|f| f.value.to_string())
        };
        assert_eq!(
            tax("19.00").as_deref(),
            Some("19.00"),
            "printed: it closes the totals"
        );
        assert_eq!(
            tax("see above").as_deref(),
            Some("7.00"),
            "not printed: nothing is made up"
        );
    }

    #[test]
    fn net_and_total_read_the_wrong_way_round_are_swapped() {
        // "Total Sales (Inclusive of GST)" read as the net, "(Excluding
        // GST)" as the total.
        let amount = |v: &str| Some(Field::exact(v.parse::<Decimal>().expect("decimal")));
        let mut inv = ExtractedInvoice::empty(ExtractionSource::Visual);
        inv.net_amount = amount("270.30");
        inv.tax_amount = amount("15.30");
        inv.total_amount = amount("255.00");
        close_totals_from_the_page(&mut inv, &[], &document_style(&[]));
        let get = |f: &Option<Field<Decimal>>| f.as_ref().map(|f| f.value.to_string());
        assert_eq!(get(&inv.net_amount).as_deref(), Some("255.00"));
        assert_eq!(get(&inv.total_amount).as_deref(), Some("270.30"));
        // Amounts that add up are left alone.
        let before = inv.clone();
        close_totals_from_the_page(&mut inv, &[], &document_style(&[]));
        assert_eq!(inv, before);
    }

    #[test]
    fn a_receipts_total_is_what_was_tendered_less_the_change() {
        let receipt = page(&[
            &[(10.0, "Total (Inclusive of GST):")],
            &[(10.0, "CASH :"), (200.0, "200.00")],
            &[(10.0, "CHANGE :"), (200.0, "10.00")],
        ]);
        let till = read_visual(std::slice::from_ref(&receipt))
            .after_model
            .till
            .expect("cash and change read");
        let mut inv = ExtractedInvoice::empty(ExtractionSource::Visual);
        till.close(&mut inv);
        assert_eq!(
            inv.total_amount.as_ref().map(|t| t.value),
            Some(Decimal::new(19000, 2))
        );
        assert!(
            inv.total_amount
                .as_ref()
                .is_some_and(|t| t.confidence < 0.9)
        );
        // A total read stands.
        let mut read = ExtractedInvoice::empty(ExtractionSource::Visual);
        read.total_amount = Some(Field::exact(Decimal::new(18990, 2)));
        till.close(&mut read);
        assert_eq!(
            read.total_amount.map(|t| t.value),
            Some(Decimal::new(18990, 2))
        );
        // The cash read as the total is not.
        let mut cash = ExtractedInvoice::empty(ExtractionSource::Visual);
        cash.total_amount = Some(Field::exact(Decimal::new(20000, 2)));
        till.close(&mut cash);
        assert_eq!(
            cash.total_amount.map(|t| t.value),
            Some(Decimal::new(19000, 2))
        );
    }

    #[test]
    fn a_tax_registration_number_is_not_the_tax() {
        let inv = extract_visual(&[page(&[
            &[(50.0, "GST No. : 000689713854")],
            &[(50.0, "Total"), (300.0, "153.35")],
        ])]);
        assert_eq!(inv.tax_amount.map(|f| f.value.to_string()), None);
    }

    #[test]
    fn a_till_total_includes_its_tax_and_its_cash_rounding() {
        let total = |lines: &[&[(f32, &str)]]| {
            let VisualReading {
                mut invoice,
                after_model,
            } = read_visual(&[page(lines)]);
            if let Some(r) = after_model.rounding {
                r.apply(&mut invoice);
            }
            invoice.total_amount.map(|f| f.value.to_string())
        };
        // The tax summary's "Total" row (net, tax) is not the total.
        let summary: &[&[(f32, &str)]] = &[
            &[(20.0, "Total Sales (Excluding GST) 109.70")],
            &[(20.0, "Total Sales (Inclusive of GST) : 116.28")],
            &[(20.0, "CASH : 116.28")],
            &[(20.0, "GST SUMMARY")],
            &[(20.0, "Total : 109.70 6.58")],
        ];
        assert_eq!(total(summary).as_deref(), Some("116.28"));
        // Rounded to five cents under the total: paid 48.15.
        let rounded: &[&[(f32, &str)]] = &[
            &[(20.0, "Total (Inclusive of GST): 48.16")],
            &[(20.0, "Rounding Adj: -0.01")],
            &[(20.0, "CASH : 50.00")],
        ];
        assert_eq!(total(rounded).as_deref(), Some("48.15"));
        // A rounding above the total: the total is rounded already.
        let already: &[&[(f32, &str)]] = &[
            &[(20.0, "Cash Rounding -0.04")],
            &[(20.0, "Total Incl. GST RM24.00")],
        ];
        assert_eq!(total(already).as_deref(), Some("24.00"));
    }

    #[test]
    fn a_receipts_issuer_is_its_whole_name_not_a_word_of_its_totals() {
        let vendor =
            |lines: &[&[(f32, &str)]]| extract_visual(&[page(lines)]).vendor_name.map(|f| f.value);
        // The name in two cells, the legal form misread.
        assert_eq!(
            vendor(&[
                &[(100.0, "MR. D.1.Y. (M)"), (200.0, "SON BHD")],
                &[(60.0, "LOT 1851-A, JALAN KPB 6")],
            ])
            .as_deref(),
            Some("MR. D.I.Y. (M) SDN BHD")
        );
        // The legal form on a line of its own.
        assert_eq!(
            vendor(&[&[(40.0, "POPULAR BOOK")], &[(40.0, "CO. (M) SDN BHD")]]).as_deref(),
            Some("POPULAR BOOK CO. (M) SDN BHD")
        );
        // "Inc." after an amount word is "inclusive".
        assert_eq!(
            vendor(&[
                &[(40.0, "SWEET FOREST CAFE")],
                &[(40.0, "Total Inc. GST 12.00")],
            ])
            .as_deref(),
            Some("SWEET FOREST CAFE")
        );
    }

    #[test]
    fn french_totals_abbreviated_with_dots() {
        let inv = extract_visual(&[page(&[
            &[(40.0, "Facture n° F-2026-17")],
            &[(40.0, "Réf. commande client : CMD-4711")],
            &[(300.0, "Total H.T."), (450.0, "100,00 €")],
            &[(300.0, "T.V.A. 20 %"), (450.0, "20,00 €")],
            &[(300.0, "Total T.T.C."), (450.0, "120,00 €")],
        ])]);
        let amount = |f: &Option<Field<Decimal>>| f.as_ref().map(|f| f.value.to_string());
        assert_eq!(amount(&inv.net_amount).as_deref(), Some("100.00"));
        assert_eq!(amount(&inv.tax_amount).as_deref(), Some("20.00"));
        assert_eq!(amount(&inv.total_amount).as_deref(), Some("120.00"));
        assert_eq!(inv.po_number.map(|f| f.value).as_deref(), Some("CMD-4711"));
    }

    #[test]
    fn a_prepayment_leaves_the_total_gross_and_sets_what_is_due() {
        let due = |lines: &[&[(f32, &str)]], total: &str| {
            let VisualReading {
                mut invoice,
                after_model,
            } = read_visual(&[page(lines)]);
            // The total as the model might decide it.
            invoice.total_amount = Some(Field::exact(total.parse().expect("amount")));
            after_model
                .prepayment
                .expect("a prepayment")
                .apply(&mut invoice);
            invoice
                .amount_due
                .map(|f| (f.value.to_string(), f.confidence))
        };
        let page: &[&[(f32, &str)]] = &[
            &[(300.0, "Total TTC"), (450.0, "1 190,00 €")],
            &[(300.0, "Acompte versé"), (450.0, "-500,00 €")],
            &[(300.0, "Net à payer"), (450.0, "690,00 €")],
        ];
        // Confirmed by the page's own amount left to pay.
        let (value, confidence) = due(page, "1190.00").expect("due");
        assert_eq!(value, "690.00");
        assert!(confidence >= 0.5);
        // The amount left taken for the total: what is left does not
        // close, and a person checks it.
        let (value, confidence) = due(page, "690.00").expect("due");
        assert_eq!(value, "190.00");
        assert!(confidence < 0.5);
        // An outside sender asks for more than its total after a
        // "prepayment": what is due is never more than the total less it,
        // and a person checks it.
        let greedy: &[&[(f32, &str)]] = &[
            &[(300.0, "Gesamtbetrag"), (450.0, "1.190,00 €")],
            &[(300.0, "Anzahlung"), (450.0, "-500,00 €")],
            &[(300.0, "Zahlbetrag"), (450.0, "1.690,00 €")],
        ];
        let (value, confidence) = due(greedy, "1190.00").expect("due");
        assert_eq!(value, "690.00");
        assert!(confidence < 0.5);
        // A rounding amount between: the page's open amount is due.
        let rounded: &[&[(f32, &str)]] = &[
            &[(300.0, "Gesamtbetrag Brutto"), (450.0, "144,59 €")],
            &[(300.0, "Rundungsbetrag"), (450.0, "0,01 €")],
            &[(300.0, "Vorausbezahlter Betrag"), (450.0, "10,00 €")],
            &[(300.0, "Offener Betrag"), (450.0, "134,60 €")],
        ];
        let (value, confidence) = due(rounded, "144.59").expect("due");
        assert_eq!(value, "134.60");
        assert!(confidence >= 0.5);
    }

    #[test]
    fn a_date_word_followed_by_other_words_labels_another_date() {
        let date = |lines: &[&[(f32, &str)]]| {
            extract_visual(&[page(lines)])
                .invoice_date
                .map(|f| f.value.to_string())
        };
        assert_eq!(
            date(&[
                &[(50.0, "Date de livraison : 12/01/2020")],
                &[(50.0, "Date : 15/01/2020")],
            ])
            .as_deref(),
            Some("2020-01-15")
        );
        assert_eq!(
            date(&[
                &[(50.0, "Date of supply 03.02.2026")],
                &[(50.0, "Date"), (200.0, "05.02.2026")],
            ])
            .as_deref(),
            Some("2026-02-05")
        );
        // OCR's quote hanging on the date.
        assert_eq!(
            date(&[&[(50.0, "Receipt #: CS00093091 Date: 04/12/2017’")]]).as_deref(),
            Some("2017-12-04")
        );
    }

    #[test]
    fn the_vat_id_is_the_sellers_not_the_buyers() {
        let vat = |lines: &[&[(f32, &str)]]| {
            extract_visual(&[page(lines)])
                .vendor_vat_id
                .map(|f| f.value)
        };
        // The buyer's block comes first, then the seller's footer.
        assert_eq!(
            vat(&[
                &[(50.0, "Bill to:")],
                &[(50.0, "Acme Buyer Ltd")],
                &[(50.0, "VAT: IE9876543W")],
                &[(400.0, "Invoice 17")],
                &[(400.0, "Total 100.00")],
                &[(50.0, "Seller Co Ltd, VAT: GB123456789")],
            ])
            .as_deref(),
            Some("GB123456789")
        );
        // Side by side: the buyer's column and the seller's.
        assert_eq!(
            vat(&[
                &[(50.0, "Kunde"), (320.0, "Verkäufer")],
                &[(50.0, "Käufer AG"), (320.0, "Lieferant GmbH")],
                &[
                    (50.0, "USt-IdNr. DE987654321"),
                    (320.0, "USt-IdNr. DE123456789")
                ],
            ])
            .as_deref(),
            Some("DE123456789")
        );
        // Said on its own line.
        assert_eq!(
            vat(&[
                &[(50.0, "Kunden-USt-IdNr.: DE987654321")],
                &[(50.0, "USt-IdNr.: DE123456789")]
            ])
            .as_deref(),
            Some("DE123456789")
        );
        // Only the buyer's on the page: it still stands (a clerk checks it).
        assert_eq!(
            vat(&[&[(50.0, "Customer VAT: DE987654321")]]).as_deref(),
            Some("DE987654321")
        );
    }

    #[test]
    fn a_credit_notes_title_marks_it_but_a_self_billed_invoice_is_not_one() {
        let credit = |title: &str| {
            extract_visual(&[page(&[
                &[(50.0, "Nordlicht GmbH")],
                &[(50.0, title)],
                &[(50.0, "Total 119,00 EUR")],
            ])])
            .credit_note
            .map(|f| f.value)
        };
        for title in [
            "CREDIT NOTE 2026-07",
            "Credit memo",
            "Gutschrift Nr. 4711",
            "AVOIR N° 12",
            "Nota di credito 8",
            "Creditnota 3",
        ] {
            assert!(credit(title).is_some(), "{title}");
        }
        for title in [
            "INVOICE 2026-07",
            "Rechnung Nr. 4711",
            "Gutschrift (Selbst ausgestellte Rechnung) (389) Nr. 47110818",
            "Please quote the credit note number",
        ] {
            assert_eq!(credit(title), None, "{title}");
        }
        // Far down the page it is a mention, not the title.
        let mut lines: Vec<&[(f32, &str)]> = vec![&[(50.0, "Rechnung 1")]; 40];
        lines.push(&[(50.0, "Gutschrift folgt")]);
        assert_eq!(extract_visual(&[page(&lines)]).credit_note, None);
    }

    #[test]
    fn an_iban_as_ocr_reads_it() {
        let iban = |lines: &[&[(f32, &str)]]| extract_visual(&[page(lines)]).iban;
        // Each group of four a cell of its own, after "IBAN :".
        let groups = iban(&[&[
            (50.0, "Verkäufer-IBAN"),
            (175.0, ":"),
            (185.0, "DE89"),
            (215.0, "3704"),
            (245.0, "0044"),
            (275.0, "0532"),
            (305.0, "0130"),
            (335.0, "00"),
            (365.0, "BIC"),
            (395.0, "COBADEFF"),
        ]])
        .expect("an IBAN");
        assert_eq!(groups.value, "DE89370400440532013000");
        assert!(groups.confidence > 0.8);
        assert!(
            groups
                .location
                .is_some_and(|(_, b)| b.x0 == 175.0 && b.x1 == 345.0)
        );
        // Groups that fail the checksum: kept, doubted.
        let doubted = iban(&[&[
            (50.0, "IBAN"),
            (185.0, "DE12"),
            (215.0, "1234"),
            (245.0, "4321"),
            (275.0, "9876"),
            (305.0, "00"),
        ]])
        .expect("the printed value");
        assert_eq!(doubted.value, "DE1212344321987600");
        assert!(doubted.confidence < 0.5);
        // The letter O read for the zero of the check digits.
        let slip = iban(&[&[(50.0, "IBAN:"), (185.0, "DEO2120300000000202051")]]);
        assert_eq!(
            slip.map(|f| f.value).as_deref(),
            Some("DE02120300000000202051")
        );
        // A wrong digit is no slip to undo: shown as printed, doubted.
        let wrong = iban(&[&[(50.0, "IBAN:"), (185.0, "DE03120300000000202051")]])
            .expect("the printed value");
        assert_eq!(wrong.value, "DE03120300000000202051");
        assert!(wrong.confidence < 0.5);
    }

    #[test]
    fn the_date_after_the_invoice_number_in_cells_of_its_own() {
        // As OCR spaces it; an earlier "vom" date belongs to something else.
        let p = page(&[
            &[(40.0, "Version 2.1"), (140.0, "vom"), (170.0, "24.03.2020")],
            &[
                (40.0, "Handelsrechnung Nr."),
                (160.0, "471102"),
                (200.0, "vom"),
                (230.0, "05.03.2018"),
            ],
        ]);
        let inv = extract_visual(&[p]);
        assert_eq!(
            inv.invoice_date.map(|f| f.value.to_string()).as_deref(),
            Some("2018-03-05")
        );
    }

    #[test]
    fn the_date_after_the_invoice_number_is_located_in_its_own_cell() {
        // As OCR spaces it: number and date in cells of their own.
        let p = page(&[&[
            (40.0, "Rechnung Nr."),
            (140.0, "471102"),
            (200.0, "vom"),
            (240.0, "05.06.2018"),
        ]]);
        let inv = extract_visual(&[p]);
        let date = inv.invoice_date.expect("the date beside the number");
        assert_eq!(date.value.to_string(), "2018-06-05");
        let (_, bbox) = date.location.expect("where it is printed");
        assert_eq!(bbox.x0, 240.0);
    }

    #[test]
    fn the_date_after_the_invoice_number_wrapped_onto_the_next_line() {
        let p = page(&[
            &[(40.0, "Version 2.1 vom 24.03.2020")],
            &[(40.0, "Gutschrift Nr. 471102 vom")],
            &[(40.0, "05.03.2018")],
        ]);
        let inv = extract_visual(&[p]);
        assert_eq!(
            inv.invoice_date.map(|f| f.value.to_string()).as_deref(),
            Some("2018-03-05")
        );
    }

    #[test]
    fn a_form_version_date_is_not_the_invoice_date() {
        // No invoice-date label and no date beside the number: the first
        // date on the page stands in, but not the date of a form version.
        let p = page(&[
            &[(40.0, "ZUGFeRD-Version : 2.1 vom 24.03.2020")],
            &[(40.0, "Stand: 01.01.2019")],
            &[(
                40.0,
                "Rechnung des Versicherers (575) Nr. 01.234.567.8-2018-1",
            )],
            &[(40.0, "Musterstadt, 06.12.2018")],
        ]);
        let inv = extract_visual(&[p]);
        assert_eq!(
            inv.invoice_date.map(|f| f.value.to_string()).as_deref(),
            Some("2018-12-06")
        );
        assert_eq!(
            inv.invoice_number.map(|f| f.value).as_deref(),
            Some("01.234.567.8-2018-1")
        );
    }

    #[test]
    fn a_qualified_total_label_is_not_the_total() {
        // As OCR spaces it: the qualifier in cells of its own.
        let p = page(&[
            &[(40.0, "Rechnung Nr."), (200.0, "471102")],
            &[
                (300.0, "Gesamtbetrag"),
                (370.0, "der"),
                (395.0, "Abschläge"),
                (480.0, "-0,00"),
            ],
            &[
                (300.0, "Gesamtbetrag"),
                (370.0, "der"),
                (395.0, "Zuschläge"),
                (480.0, "0,00"),
            ],
            &[(300.0, "Bruttosumme"), (480.0, "235,62")],
        ]);
        let inv = extract_visual(&[p]);
        assert_eq!(
            inv.total_amount.map(|f| f.value.to_string()).as_deref(),
            Some("235.62")
        );
    }

    #[test]
    fn german_invoice() {
        let p = page(&[
            &[(40.0, "Nordlicht Bürobedarf GmbH"), (350.0, "Rechnung")],
            &[
                (40.0, "Hafenstraße 5, 20457 Hamburg"),
                (350.0, "Rechnungsnummer:"),
                (450.0, "RE-2026-00412"),
            ],
            &[
                (40.0, "USt-IdNr. DE123456789"),
                (350.0, "Rechnungsdatum:"),
                (450.0, "05.03.2026"),
            ],
            &[(350.0, "Bestellnummer:"), (450.0, "PO-2026-0101")],
            &[(350.0, "Fällig am:"), (450.0, "04.04.2026")],
            &[(300.0, "Nettobetrag"), (480.0, "1.000,00 €")],
            &[(300.0, "USt. 19 %"), (480.0, "190,00 €")],
            &[(300.0, "Gesamtbetrag"), (480.0, "1.190,00 €")],
            &[(40.0, "IBAN DE89 3704 0044 0532 0130 00")],
        ]);
        let inv = extract_visual(&[p]);
        let v = |f: &Option<Field<String>>| f.as_ref().map(|f| f.value.clone());
        assert_eq!(v(&inv.invoice_number).as_deref(), Some("RE-2026-00412"));
        assert_eq!(v(&inv.po_number).as_deref(), Some("PO-2026-0101"));
        assert_eq!(
            v(&inv.vendor_name).as_deref(),
            Some("Nordlicht Bürobedarf GmbH")
        );
        assert_eq!(v(&inv.vendor_vat_id).as_deref(), Some("DE123456789"));
        assert_eq!(v(&inv.iban).as_deref(), Some("DE89370400440532013000"));
        assert_eq!(v(&inv.currency).as_deref(), Some("EUR"));
        assert_eq!(
            inv.invoice_date.map(|f| f.value),
            NaiveDate::from_ymd_opt(2026, 3, 5)
        );
        assert_eq!(
            inv.due_date.map(|f| f.value),
            NaiveDate::from_ymd_opt(2026, 4, 4)
        );
        let amt = |f: Option<Field<Decimal>>| f.map(|f| f.value.to_string());
        assert_eq!(amt(inv.net_amount).as_deref(), Some("1000.00"));
        assert_eq!(amt(inv.tax_amount).as_deref(), Some("190.00"));
        assert_eq!(amt(inv.total_amount).as_deref(), Some("1190.00"));
    }

    #[test]
    fn label_above_value() {
        let p = page(&[
            &[(40.0, "Invoice No."), (200.0, "Invoice Date")],
            &[(40.0, "INV-10457"), (200.0, "March 5, 2026")],
        ]);
        let inv = extract_visual(&[p]);
        assert_eq!(
            inv.invoice_number.map(|f| f.value).as_deref(),
            Some("INV-10457")
        );
        assert_eq!(
            inv.invoice_date.map(|f| f.value),
            NaiveDate::from_ymd_opt(2026, 3, 5)
        );
    }
    #[test]
    fn a_name_is_told_from_specks_numbers_labels_and_titles() {
        for name in [
            "INDAH GIFT & HOME DECO",
            "Atelier Berthier",
            "SWEET FOREST CAFE",
        ] {
            assert!(looks_like_a_name(name), "{name}");
        }
        for not in [
            "aa",
            "~",
            "3180303",
            "Tel: 07-3507405",
            "TAX INVOICE",
            "319,01 017",
            ";}",
        ] {
            assert!(!looks_like_a_name(not), "{not}");
        }
        assert!(COMPANY.is_match("UNIHAKKA INTERNATIONAL SDN BHD"));
        assert!(COMPANY.is_match("OWNER BY CASTLE BLUE S/B"));
        for company in [
            "Muster GmbH",
            "MUSTER GMBH & CO. KG",
            "Dupont SA",
            "Dupont S.A.",
            "Bau AG",
            "Acme Ltd",
            "Acme Inc.",
            "Acme Limited",
            "Huis BV",
        ] {
            assert!(COMPANY.is_match(company), "{company}");
        }
        // Everyday words spelled like short legal forms.
        for sentence in [
            "Le vendeur se réserve la propriété",
            "En cas de retard, sa pénalité",
            "limited to the amount paid",
            "Tag der Lieferung: ag",
        ] {
            assert!(!COMPANY.is_match(sentence), "{sentence}");
        }
    }
    #[test]
    fn a_dollar_on_an_amount_means_month_first_noise_does_not() {
        let style = |lines: &[&[(f32, &str)]]| document_style(&[page(lines)]).day_first;
        // A US invoice: "$" on its amounts, an ambiguous date.
        assert!(!style(&[
            &[(40.0, "Date 03/04/2026")],
            &[(40.0, "Total $1,234.50")]
        ]));
        // A receipt in ringgit with a "($)" column head and OCR noise.
        assert!(style(&[
            &[(40.0, "Date 09/01/2019")],
            &[(40.0, "Item ($)"), (300.0, "12.50")],
            &[(40.0, "Total RM 12.50 $).00")],
        ]));
        // Without any currency evidence: day first, as most of the world.
        assert!(style(&[
            &[(40.0, "Date 03/04/2026")],
            &[(40.0, "Total 12.50")]
        ]));
    }
}
