#!/usr/bin/env python3
"""Deterministic demo/test data for apflow.

Writes vendors.jsonl, pos.jsonl, receipts.jsonl, invoices/*.pdf, invoices/truth.jsonl and
README.md next to this script. Every company, person, address, VAT id and bank account is
fictional (VAT ids and IBANs carry valid check digits). Standard library only; the output is
byte-identical on every run. Usage: python3 samples/generate.py
"""
import datetime as dt
import json
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
D = Decimal


def money(x):
    return D(x).quantize(D("0.01"), rounding=ROUND_HALF_UP)


# ----------------------------------------------------------------------------- check digits
def de_vat(d8):  # ISO 7064 MOD 11,10 as used by the German BZSt
    p = 10
    for ch in d8:
        s = (int(ch) + p) % 10 or 10
        p = (2 * s) % 11
    return "DE" + d8 + str((11 - p) % 10)


def luhn_digit(payload):
    total = 0
    for i, ch in enumerate(reversed(payload)):
        n = int(ch) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return str((10 - total % 10) % 10)


def fr_vat(siren8):
    siren = siren8 + luhn_digit(siren8)
    return "FR%02d%s" % ((12 + 3 * (int(siren) % 97)) % 97, siren)


def gb_vat(d7):  # old-style mod 97: weighted sum + check == 0 (mod 97)
    total = sum(int(c) * w for c, w in zip(d7, range(8, 1, -1)))
    return "GB%s%02d" % (d7, (-total) % 97)


def es_vat(d7):  # CIF for an S.L. ("B"), numeric control digit
    total = sum(int(d7[i]) for i in (1, 3, 5))
    for i in (0, 2, 4, 6):
        total += sum(int(c) for c in str(2 * int(d7[i])))
    return "ESB%s%d" % (d7, (10 - total % 10) % 10)


def _mod97(s):
    return int("".join(str(int(ch, 36)) for ch in s)) % 97


def iban(cc, bban):
    return "%s%02d%s" % (cc, 98 - _mod97(bban + cc + "00"), bban)


def fr_bban(bank, branch, account):
    key = 97 - (89 * int(bank) + 15 * int(branch) + 3 * int(account)) % 97
    return "%s%s%s%02d" % (bank, branch, account, key)


def es_bban(bank, branch, account):
    def dc(s):
        r = 11 - sum(w * int(ch) for w, ch in zip([1, 2, 4, 8, 5, 10, 9, 7, 3, 6], s)) % 11
        return {11: 0, 10: 1}.get(r, r)
    return "%s%s%d%d%s" % (bank, branch, dc("00" + bank + branch), dc(account), account)


def grouped(code):
    return " ".join(code[i:i + 4] for i in range(0, len(code), 4))


# ----------------------------------------------------------------------------- master data
BUYER = {"name": "ACME Manufacturing GmbH", "street": "Industriestraße 12", "city": "70565 Stuttgart",
         "dept": {"de": "Kreditorenbuchhaltung", "en": "Accounts Payable", "fr": "Comptabilité fournisseurs"},
         "country": {"de": "Deutschland", "en": "Germany", "fr": "Allemagne"}}

VENDORS = [
    dict(id="V-1001", name="Nordlicht Bürobedarf GmbH", lang="de", dates="de", cur_style="de",
         aliases=["Nordlicht Buerobedarf GmbH", "Nordlicht Bürobedarf"], vat=de_vat("27384915"),
         ibans=[iban("DE", "20050550" + "1234567890"), iban("DE", "20069177" + "0004417733")],
         bic="HSPBDEHHXXX", bank="Hanseatische Sparbank", terms="net 30", currency="EUR",
         domains=["nordlicht-buerobedarf.example"], customer_no="K-40871",
         address=["Hafenstraße 21", "20457 Hamburg", "Deutschland"], register="Amtsgericht Hamburg HRB 184226"),
    dict(id="V-1002", name="Kaffeewerk Rösterei GmbH", lang="de", dates="de", cur_style="de",
         aliases=["Kaffeewerk Roesterei GmbH", "Kaffeewerk"], vat=de_vat("31192846"),
         ibans=[iban("DE", "70190077" + "0087123400")], bic="ISVBDEMMXXX", bank="Isartal Volksbank eG",
         terms="2/10 net 30", currency="EUR", domains=["kaffeewerk-muenchen.example"], customer_no="10-2291",
         address=["Zollhofstraße 8", "81671 München", "Deutschland"], register="Amtsgericht München HRB 267310",
         labels={"vat": "MwSt. {r} %", "total": "Rechnungsbetrag"}),
    dict(id="V-1003", name="Atelier Lumière SARL", lang="fr", dates="fr", cur_style="fr",
         aliases=["Atelier Lumiere SARL", "Atelier Lumière"], vat=fr_vat("48213975"),
         ibans=[iban("FR", fr_bban("30077", "04821", "00051278364"))], bic="BRHOFRPPLYO", bank="Banque Rhodanienne",
         terms="net 30", currency="EUR", domains=["atelier-lumiere.example"], customer_no="CL-0317",
         address=["14 rue des Tanneurs", "69002 Lyon", "France"], register="RCS Lyon · SARL au capital de 20 000 €"),
    dict(id="V-1004", name="Brightside Office Supplies Ltd", lang="en", dates="en_gb", cur_style="gbp",
         aliases=["Brightside Office Supplies", "Brightside Office Supplies Limited"], vat=gb_vat("4821736"),
         ibans=[iban("GB", "BRSD" + "204173" + "41830092")], bic="BRSDGB2LXXX", bank="Bradwell & Shaw Bank plc",
         terms="net 14", currency="GBP", domains=["brightside-office.example", "brightside.example"],
         customer_no="ACME01", sort_code="20-41-73", account="41830092",
         address=["Unit 7, Calder Park", "Leeds LS11 5QP", "United Kingdom"],
         register="Registered in England and Wales No. 08841276"),
    dict(id="V-1005", name="Tecnoparts Ibérica S.L.", lang="en", dates="en_us", cur_style="eur_en",
         aliases=["Tecnoparts Iberica SL", "Tecnoparts"], vat=es_vat("4672918"),
         ibans=[iban("ES", es_bban("0182", "5731", "0201583746"))], bic="TPVAESVVXXX", bank="Banco de Levante",
         terms="net 30", currency="EUR", domains=["tecnoparts-iberica.example"], customer_no="C-5512",
         address=["Calle de la Industria 48", "46980 Paterna (Valencia)", "Spain"],
         register="Reg. Merc. Valencia, T. 9921, H. V-163204"),
    dict(id="V-1006", name="Fränkel & Söhne Werkzeugbau KG", lang="de", dates="de", cur_style="de",
         aliases=["Fraenkel & Soehne Werkzeugbau KG", "Fränkel & Söhne"], vat=de_vat("19427305"),
         ibans=[iban("DE", "87050000" + "3510448201")], bic="ERZSDE81XXX", bank="Erzgebirgische Sparkasse",
         terms="net 45", currency="EUR", domains=["fraenkel-werkzeugbau.example"], customer_no="D-1123",
         address=["Am Walkgraben 3", "09117 Chemnitz", "Deutschland"], register="Amtsgericht Chemnitz HRA 7734",
         labels={"net": "Summe netto", "vat": "zzgl. MwSt. {r}%", "total": "Rechnungsbetrag"}),
]
UNKNOWN = dict(id=None, name="Sonnenberg Gebäudeservice GmbH", lang="de", dates="de", cur_style="de",
               vat=de_vat("28850463"), ibans=[iban("DE", "86055592" + "1100234598")], bic="LPZBDE8LXXX",
               bank="Leipziger Bürgerbank", terms="net 14", currency="EUR", domains=["sonnenberg-service.example"],
               customer_no="2026-118", address=["Karl-Heine-Straße 88", "04229 Leipzig", "Deutschland"],
               register="Amtsgericht Leipzig HRB 39012")
VENDOR_BY_ID = {v["id"]: v for v in VENDORS}
VENDOR_BY_ID["UNKNOWN"] = UNKNOWN
FRAENKEL_NEW_IBAN = iban("DE", "10090000" + "7720145566")

# sku: (description as printed by the vendor, unit, unit price, VAT rate %)
CATALOG = {
    "NB-PAP-A4": ("Kopierpapier A4, 80 g/m², 500 Blatt", "pkg", "4.85", 19),
    "NB-TON-59A": ("Toner kompatibel zu HP 59A, schwarz", "pcs", "89.90", 19),
    "NB-ORD-80": ("Ordner A4, Rückenbreite 80 mm, blau", "pcs", "2.79", 19),
    "NB-KUG-10": ("Kugelschreiber blau, 10er-Pack", "pkg", "6.50", 19),
    "NB-MON-27": ('Monitor 27" WQHD, höhenverstellbar', "pcs", "249.00", 19),
    "NB-DOCK-C": ("USB-C-Dockingstation, 100 W", "pcs", "118.00", 19),
    "KW-ESP-LOSE": ("Espresso-Mischung „Hafenblick“, lose", "kg", "21.40", 7),
    "KW-CRE-1KG": ("Caffè Crema, ganze Bohne, 1 kg", "pcs", "19.80", 7),
    "KW-DEC-1KG": ("Entkoffeinierter Espresso, 1 kg", "pcs", "23.90", 7),
    "KW-ENT-40": ("Entkalkungstabletten, 40 Stück", "pkg", "14.90", 19),
    "KW-MILCH-1L": ("Milchsystemreiniger, 1 l", "pcs", "11.50", 19),
    "AL-SUS-OPA": ("Suspension « Opaline » Ø 45 cm", "pcs", "189.00", 20),
    "AL-APP-LED": ("Applique murale LED, laiton brossé", "pcs", "74.50", 20),
    "AL-AMP-E27": ("Ampoule LED E27 à filament, 6 W", "pcs", "5.95", 20),
    "AL-LAMP-ARC": ("Lampadaire « Arc », noir mat", "pcs", "329.00", 20),
    "AL-CAB-5M": ("Câble textile tressé, 5 m, écru", "pcs", "18.50", 20),
    "BOS-CHR-ERG": ("Ergonomic mesh office chair", "pcs", "164.00", 20),
    "BOS-DSK-1600": ("Height-adjustable desk, 1600 mm", "pcs", "389.00", 20),
    "BOS-LMP-LED": ("LED desk lamp, dimmable", "pcs", "32.50", 20),
    "BOS-PAP-A4": ("A4 copier paper 80gsm, box of 5 reams", "box", "21.95", 20),
    "BOS-LAF-10": ("Lever arch files A4, pack of 10", "pkg", "18.40", 20),
    "TP-BRG-6204": ("Deep groove ball bearing 6204-2RS", "pcs", "2.35", 21),
    "TP-SEAL-25": ("NBR shaft seal 25x40x7 mm", "pcs", "0.88", 21),
    "TP-BLT-M8": ("Hex bolts M8x40 8.8 zinc, box of 100", "box", "9.60", 21),
    "TP-CPL-L075": ("Jaw coupling L-075 with NBR spider", "pcs", "14.20", 21),
    "TP-BLT-M10": ("Hex bolts M10x50 8.8 zinc, box of 50", "box", "12.75", 21),
    "FS-SPZ-ER32": ("Spannzange ER32, Ø 12 mm", "pcs", "18.90", 19),
    "FS-VHM-10": ("VHM-Schaftfräser Ø 10 mm, 4-schneidig", "pcs", "64.00", 19),
    "FS-SCHL-ER32": ("Spannmutterschlüssel ER32", "pcs", "27.50", 19),
    "SB-UHR-0326": ("Unterhaltsreinigung Büroflächen, März 2026", "lot", "1480.00", 19),
    "SB-GLAS": ("Glasreinigung Fensterfronten, Halle 2", "lot", "360.00", 19),
}

# po_number: (vendor_id, [(sku, quantity)])
POS = {
    "PO-2026-0101": ("V-1001", [("NB-PAP-A4", "40"), ("NB-TON-59A", "6"), ("NB-ORD-80", "25"), ("NB-KUG-10", "10")]),
    "PO-2026-0102": ("V-1002", [("KW-ESP-LOSE", "12.5"), ("KW-CRE-1KG", "8"), ("KW-ENT-40", "3"), ("KW-MILCH-1L", "2")]),
    "PO-2026-0103": ("V-1003", [("AL-SUS-OPA", "6"), ("AL-APP-LED", "10"), ("AL-AMP-E27", "40")]),
    "PO-2026-0104": ("V-1004", [("BOS-CHR-ERG", "8"), ("BOS-DSK-1600", "4"), ("BOS-LMP-LED", "8")]),
    "PO-2026-0105": ("V-1005", [("TP-BRG-6204", "200"), ("TP-SEAL-25", "150"), ("TP-BLT-M8", "12")]),
    "PO-2026-0106": ("V-1001", [("NB-MON-27", "5"), ("NB-DOCK-C", "5")]),
    "PO-2026-0107": ("V-1004", [("BOS-PAP-A4", "30"), ("BOS-LAF-10", "12")]),
    "PO-2026-0108": ("V-1005", [("TP-CPL-L075", "20"), ("TP-BLT-M10", "10")]),
    "PO-2026-0109": ("V-1006", [("FS-SPZ-ER32", "10"), ("FS-VHM-10", "6"), ("FS-SCHL-ER32", "2")]),
    "PO-2026-0110": ("V-1002", [("KW-ESP-LOSE", "10"), ("KW-DEC-1KG", "4")]),
}

# receipt_id: (po_number, received_on, [(line_no, quantity)] or None for "everything ordered")
RECEIPTS = {
    "GR-2026-0201": ("PO-2026-0101", "2026-03-02", [(1, "25"), (2, "6")]),
    "GR-2026-0202": ("PO-2026-0101", "2026-03-04", [(1, "15"), (3, "25"), (4, "10")]),
    "GR-2026-0203": ("PO-2026-0102", "2026-03-05", None),
    "GR-2026-0204": ("PO-2026-0103", "2026-03-09", None),
    "GR-2026-0205": ("PO-2026-0104", "2026-03-10", [(1, "8"), (2, "2"), (3, "8")]),
    "GR-2026-0206": ("PO-2026-0105", "2026-03-11", None),
    "GR-2026-0207": ("PO-2026-0106", "2026-03-12", None),
    "GR-2026-0208": ("PO-2026-0107", "2026-03-13", [(1, "20"), (2, "12")]),
    "GR-2026-0209": ("PO-2026-0108", "2026-03-16", None),
    "GR-2026-0210": ("PO-2026-0109", "2026-03-17", None),
    "GR-2026-0211": ("PO-2026-0110", "2026-03-18", None),
}

# The scenario table. lines default to the full PO; "po" is what is printed (None = no PO on the document).
INVOICES = [
    dict(vendor="V-1001", layout="A", no="RE-2026-00412", date="2026-03-05", po="PO-2026-0101",
         scenario="clean match; PO received in two deliveries", status="scheduled", reasons=[]),
    dict(vendor="V-1002", layout="C", no="KW-2026-1187", date="2026-03-06", po="PO-2026-0102",
         scenario="clean match; mixed VAT 7 % + 19 %, 12.5 kg quantity", status="scheduled", reasons=[]),
    dict(vendor="V-1003", layout="C", no="F2026-0193", date="2026-03-10", po="PO-2026-0103",
         scenario="clean match (French)", status="scheduled", reasons=[]),
    dict(vendor="V-1004", layout="B", no="INV-10457", date="2026-03-11", po="PO-2026-0104",
         lines=[("BOS-CHR-ERG", "8"), ("BOS-DSK-1600", "2"), ("BOS-LMP-LED", "8")],
         scenario="clean match in GBP; partial delivery invoiced partially (2 of 4 desks)",
         status="scheduled", reasons=[]),
    dict(vendor="V-1005", layout="A", no="TPI-2026-0318", date="2026-03-12", po="PO-2026-0105",
         scenario="clean match (English, EUR, VAT 21 %)", status="scheduled", reasons=[]),
    dict(vendor="V-1001", layout="A", no="RE-2026-00437", date="2026-03-13", po="PO-2026-0106",
         prices={"NB-MON-27": "268.92"}, scenario="monitor billed at 268.92 vs PO 249.00 (+8 %)",
         status="needs_review", reasons=["price_variance"]),
    dict(vendor="V-1004", layout="B", no="INV-10482", date="2026-03-16", po="PO-2026-0107",
         scenario="30 boxes of paper invoiced, only 20 received", status="needs_review",
         reasons=["quantity_exceeds_received"]),
    dict(vendor="V-1003", layout="A", no="F2026-0211", date="2026-03-17", po="PO-2026-0131",
         lines=[("AL-LAMP-ARC", "2"), ("AL-CAB-5M", "4")], scenario="cites PO-2026-0131, which does not exist",
         status="needs_review", reasons=["po_not_found"]),
    dict(vendor="V-1002", layout="C", no="KW-2026-1203", date="2026-03-19", po=None, po_lines="PO-2026-0110",
         scenario="no PO number printed; the lines fit only PO-2026-0110 of the vendor's two open POs, "
                  "so apflow takes that one", status="scheduled", reasons=[]),
    dict(vendor="V-1005", layout="A", no="TPI-2026-0342", date="2026-03-18", po="PO-2026-0108",
         total="479.92", scenario="printed total 479.92, net + VAT = 497.92", status="needs_review",
         reasons=["totals_mismatch"]),
    dict(vendor="UNKNOWN", layout="B", no="SB-2026-047", date="2026-03-31", po=None,
         lines=[("SB-UHR-0326", "1"), ("SB-GLAS", "1")],
         scenario="vendor not in vendors.jsonl (cleaning service, no PO either)", status="needs_review",
         reasons=["vendor_unknown", "missing_po_number"]),
    dict(vendor="V-1006", layout="B", no="R-26-0915", date="2026-03-18", po="PO-2026-0109",
         iban=FRAENKEL_NEW_IBAN, bic="FKBADEB1XXX", bank="Frankonia Direktbank",
         notice=["Bitte beachten Sie: Unsere Bankverbindung hat sich geändert.",
                 "Bitte überweisen Sie ab sofort ausschließlich auf das unten genannte Konto."],
         scenario="clean match but IBAN differs from vendor master", status="needs_review",
         reasons=["bank_details_changed"]),
    dict(vendor="V-1001", layout="A", no="RE-2026-00412", date="2026-03-05", po="PO-2026-0101", variant=1,
         dates="de_long", scenario="re-issue of 01 (same number and amounts; long-form dates, shifted layout)",
         status="duplicate", reasons=["duplicate_invoice"]),
]

# ----------------------------------------------------------------------------- localisation
LABELS = {
    "de": dict(title="Rechnung", inv_no="Rechnungsnummer", inv_date="Rechnungsdatum", due="Zahlbar bis",
               po="Bestellnummer", cust_no="Kundennummer", pos="Pos.", sku="Art.-Nr.", desc="Bezeichnung",
               qty="Menge", unit="Einheit", price="Einzelpreis", amount="Betrag", rate="USt.",
               net="Nettobetrag", vat="USt. {r} %", total="Gesamtbetrag", vat_id="USt-IdNr.",
               bill_to="Rechnungsempfänger", bank="Bankverbindung", thanks="Vielen Dank für Ihren Auftrag!",
               contact="Kontakt", page="Seite 1 von 1", colon=":", mailbox="rechnung"),
    "en": dict(title="Invoice", inv_no="Invoice No.", inv_date="Invoice Date", due="Due Date", po="PO Number",
               cust_no="Customer No.", pos="Item", sku="Item", desc="Description", qty="Qty", unit="Unit",
               price="Unit Price", amount="Amount", rate="VAT", net="Subtotal", vat="VAT {r}%",
               total="Total Due", vat_id="VAT Reg. No.", bill_to="Bill to", bank="Bank details",
               thanks="Thank you for your business.", contact="Contact", page="Page 1 of 1", colon=":",
               mailbox="invoices"),
    "fr": dict(title="Facture", inv_no="N° de facture", inv_date="Date de facture", due="Date d'échéance",
               po="N° de commande", cust_no="N° client", pos="Réf.", sku="Réf.", desc="Désignation", qty="Qté",
               unit="Unité", price="Prix unit. HT", amount="Montant HT", rate="TVA", net="Total HT",
               vat="TVA {r} %", total="Total TTC", vat_id="N° TVA intracom.", bill_to="Client",
               bank="Coordonnées bancaires", thanks="Merci de votre confiance.", contact="Contact",
               page="Page 1/1", colon=" :", mailbox="compta"),
}
UNITS = {"de": {"pcs": "Stk", "kg": "kg", "pkg": "Pkg", "box": "Ktn", "lot": "psch"},
         "en": {"pcs": "pcs", "kg": "kg", "pkg": "pack", "box": "box", "lot": "lot"},
         "fr": {"pcs": "pce", "kg": "kg", "pkg": "paq.", "box": "carton", "lot": "forfait"}}
MONTHS_EN = "January February March April May June July August September October November December".split()
MONTHS_DE = "Januar Februar März April Mai Juni Juli August September Oktober November Dezember".split()


def fmt_date(d, style):
    return {"de": "%02d.%02d.%d" % (d.day, d.month, d.year),
            "de_long": "%d. %s %d" % (d.day, MONTHS_DE[d.month - 1], d.year),
            "fr": "%02d/%02d/%d" % (d.day, d.month, d.year),
            "en_gb": "%02d %s %d" % (d.day, MONTHS_EN[d.month - 1][:3], d.year),
            "en_us": "%s %d, %d" % (MONTHS_EN[d.month - 1], d.day, d.year)}[style]


def fmt_num(x, lang):
    s = format(money(x), ",.2f")
    if lang == "de":
        return s.replace(",", "_").replace(".", ",").replace("_", ".")
    if lang == "fr":
        return s.replace(",", " ").replace(".", ",")
    return s


def fmt_money(x, style):
    return {"de": fmt_num(x, "de") + " €", "fr": fmt_num(x, "fr") + " €", "gbp": "£" + fmt_num(x, "en"),
            "eur_en": "EUR " + fmt_num(x, "en")}[style]


def plain_qty(q):
    return format(D(q).normalize(), "f")


def fmt_qty(q, lang):
    s = plain_qty(q)
    return s.replace(".", ",") if lang in ("de", "fr") else s


def terms_days(terms):
    return int(terms.split()[-1])


def terms_text(lang, terms, due_s):
    net = terms_days(terms)
    disc = terms.split()[0].split("/") if "/" in terms else None
    if lang == "de":
        if disc:
            return "Zahlbar innerhalb von %s Tagen mit %s %% Skonto oder innerhalb von %d Tagen netto." % (
                disc[1], disc[0], net)
        return "Zahlbar innerhalb von %d Tagen ohne Abzug bis zum %s." % (net, due_s)
    if lang == "fr":
        return "Conditions de paiement : %d jours net, soit au plus tard le %s." % (net, due_s)
    return "Payment terms: %d days net. Please pay by %s quoting the invoice number." % (net, due_s)


# ----------------------------------------------------------------------------- PDF primitives
# Helvetica / Helvetica-Bold advance widths (AFM, 1/1000 em) for ASCII 32..126 and the extras used here.
_REG = ("278 278 355 556 556 889 667 191 333 333 389 584 278 333 278 278 " + "556 " * 10 +
        "278 278 584 584 584 556 1015 667 667 722 722 667 611 778 722 278 500 667 556 833 722 778 667 778 "
        "722 667 611 722 667 944 667 667 611 278 278 278 469 556 333 556 556 500 556 556 278 556 556 222 "
        "222 500 222 833 556 556 556 556 333 500 278 556 500 722 500 500 500 334 260 334 584").split()
_BOLD = ("278 333 474 556 556 889 722 238 333 333 389 584 278 333 278 278 " + "556 " * 10 +
         "333 333 584 584 584 611 975 722 722 722 722 667 611 778 722 278 556 722 611 833 722 778 667 778 "
         "722 667 611 722 667 944 667 667 611 333 278 333 584 556 333 556 611 556 611 556 333 611 611 278 "
         "278 556 278 889 611 611 611 611 389 556 333 611 556 778 556 556 500 389 280 389 584").split()
_EXTRA = {"€": (556, 556), "£": (556, 556), "ä": (556, 556), "ö": (556, 611), "ü": (556, 611),
          "Ä": (667, 722), "Ö": (778, 778), "Ü": (722, 722), "ß": (611, 611), "é": (556, 556),
          "è": (556, 556), "ê": (556, 556), "à": (556, 556), "â": (556, 556), "ç": (500, 556),
          "ô": (556, 611), "û": (556, 611), "É": (667, 667), "°": (400, 400), "·": (278, 278),
          "„": (333, 500), "“": (333, 500), "«": (556, 556), "»": (556, 556), "Ø": (778, 778),
          "²": (333, 333), "–": (556, 556), "'": (191, 238)}
WIDTHS = ({chr(32 + i): int(w) for i, w in enumerate(_REG)}, {chr(32 + i): int(w) for i, w in enumerate(_BOLD)})
for _ch, (_r, _b) in _EXTRA.items():
    WIDTHS[0][_ch], WIDTHS[1][_ch] = _r, _b


def text_width(s, size, bold=False):
    return sum(WIDTHS[bold][ch] for ch in s) * size / 1000.0  # KeyError = add the glyph to _EXTRA


def pdf_str(s):
    return s.encode("cp1252").replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def n(v):
    return ("%.2f" % v).rstrip("0").rstrip(".")


class Canvas:
    def __init__(self):
        self.ops = []

    def text(self, x, y, s, size=9, bold=False, gray=0):
        if gray:
            self.ops.append(b"%s g" % n(gray).encode())
        self.ops.append(b"BT /%s %s Tf %s %s Td (%s) Tj ET" % (
            b"F2" if bold else b"F1", n(size).encode(), n(x).encode(), n(y).encode(), pdf_str(s)))
        if gray:
            self.ops.append(b"0 g")

    def rtext(self, xr, y, s, size=9, bold=False, gray=0):
        self.text(xr - text_width(s, size, bold), y, s, size, bold, gray)

    def cell(self, x0, x1, y, s, align, size=9, bold=False, gray=0):
        assert text_width(s, size, bold) <= x1 - x0 - 5, "text does not fit its column: %r" % s
        (self.rtext(x1 - 3, y, s, size, bold, gray) if align == "r" else self.text(x0 + 3, y, s, size, bold, gray))

    def line(self, x0, y0, x1, y1, w=0.5, gray=0):
        self.ops.append(("%s G %s w %s %s m %s %s l S 0 G" % (n(gray), n(w), n(x0), n(y0), n(x1), n(y1))).encode())

    def rect(self, x, y, w, h, lw=0.5, fill=None):
        op = "%s g %s %s %s %s re f 0 g" % (n(fill), n(x), n(y), n(w), n(h)) if fill is not None else \
            "%s w %s %s %s %s re S" % (n(lw), n(x), n(y), n(w), n(h))
        self.ops.append(op.encode())


def build_pdf(content, title):
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            b"/Resources << /Font << /F1 4 0 R /F2 5 0 R >> >> /Contents 6 0 R >>",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
            b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
            b"<< /Title (%s) /Producer (apflow samples/generate.py) >>" % title.encode("ascii")]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 7 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


# ----------------------------------------------------------------------------- shared page blocks
def buyer_lines(lang):
    return [BUYER["name"], BUYER["dept"][lang], BUYER["street"], BUYER["city"], BUYER["country"][lang]]


def table(c, top, cols, rows, style, row_h=15):
    """cols: (key, header, x0, x1, align). style: shaded | rule | grid."""
    left, right, hh = cols[0][2], cols[-1][3], 18
    if style == "shaded":
        c.rect(left, top - hh, right - left, hh, fill=0.88)
    for key, head, x0, x1, al in cols:
        c.cell(x0, x1, top - 12, head, al, 8, bold=True)
    y = top - hh
    if style == "rule":
        c.line(left, top, right, top, 0.8)
        c.line(left, y, right, y, 0.8)
    for r in rows:
        y -= row_h
        for key, head, x0, x1, al in cols:
            c.cell(x0, x1, y + 4.5, r[key], al)
        if style == "grid":
            c.line(left, y, right, y, 0.3, gray=0.6)
    if style == "grid":
        c.rect(left, y, right - left, top - y, 0.8)
        c.line(left, top - hh, right, top - hh, 0.8)
        for col in cols[1:]:
            c.line(col[2], top, col[2], y, 0.5)
    else:
        c.line(left, y, right, y, 0.8)
    return y


def totals(c, d, y, lx, rx, step=14):
    rows = [(d["L"]["net"], d["net"], False)]
    rows += [(d["L"]["vat"].format(r=r), a, False) for r, a in d["vats"]]
    rows.append((d["L"]["total"], d["total"], True))
    for i, (label, value, bold) in enumerate(rows):
        if bold:
            c.line(lx, y + step - 3.5, rx, y + step - 3.5, 0.6)
        c.text(lx, y, label, 9.5 if bold else 9, bold)
        c.rtext(rx, y, d["cur"](value), 9.5 if bold else 9, bold)
        y -= step
    return y


def footer(c, d, xs=(50, 215, 390), top=82, line_y=94):
    v, L = d["vendor"], d["L"]
    c.line(50, line_y, 545, line_y, 0.5, gray=0.5)
    bank = [L["bank"], d["bank"]]
    if v.get("sort_code") and d["iban"] in v["ibans"]:
        bank.append("Sort code %s · Account %s" % (v["sort_code"], v["account"]))
    bank += ["IBAN " + grouped(d["iban"]), "BIC " + d["bic"]]
    cols = [[v["name"], v["address"][0], "%s, %s" % (v["address"][1], v["address"][2]), v["register"]],
            [L["contact"], L["mailbox"] + "@" + v["domains"][0], "www." + v["domains"][0], "%s %s" % (L["vat_id"], v["vat"])],
            bank]
    for x, lines in zip(xs, cols):
        for i, s in enumerate(lines):
            assert text_width(s, 7) < 160, s
            c.text(x, top - 9 * i, s, 7, bold=(i == 0), gray=0.25)


def notes(c, d, y):
    for s in d.get("notice", []):
        c.text(50, y, s, 9, bold=True)
        y -= 12
    y -= 4 if d.get("notice") else 0
    lines = [d["terms_text"]]
    if d["lang"] == "fr":
        lines.append("Pas d'escompte pour paiement anticipé. Indemnité forfaitaire pour frais de recouvrement : 40 €.")
    lines.append(d["L"]["thanks"])
    for s in lines:
        assert text_width(s, 8.5) < 495, s
        c.text(50, y, s, 8.5)
        y -= 12


def letterhead(c, d, y, name_size):
    v = d["vendor"]
    c.text(50, y, v["name"], name_size, bold=True)
    for i, s in enumerate(v["address"] + ["%s %s" % (d["L"]["vat_id"], v["vat"])]):
        c.text(50, y - 16 - 11 * i, s, 9)
    return text_width(v["name"], name_size, True)


# ----------------------------------------------------------------------------- layouts
def layout_a(c, d):
    """DIN-5008-like: letterhead, window address left, metadata label/value block top right."""
    L, v, var = d["L"], d["vendor"], d.get("variant", 0)
    letterhead(c, d, 790, 16)
    c.rtext(545, 790, "www." + v["domains"][0], 8, gray=0.4)
    c.text(50, 712, " · ".join([v["name"]] + v["address"][:2]), 6.5, gray=0.3)
    c.line(50, 709, 290, 709, 0.4)
    for i, s in enumerate(buyer_lines(d["lang"])):
        c.text(50, 694 - 12 * i, s, 9.5 if i == 0 else 9, bold=(i == 0))
    meta = [(L["inv_no"], d["number"]), (L["inv_date"], d["date_s"]), (L["due"], d["due_s"])]
    meta += [(L["po"], d["po"])] if d["po"] else []
    meta += [(L["cust_no"], v["customer_no"])]
    y0, step, lx = (694, 13, 340) if var == 0 else (700, 14.5, 330)
    for i, (label, value) in enumerate(meta):
        c.text(lx, y0 - step * i, label + ("" if var else L["colon"]), 9)
        c.rtext(545, y0 - step * i, value, 9, bold=(i == 0))
    c.text(50, 600 if var == 0 else 604, "%s %s" % (L["title"], d["number"]) if var else L["title"], 15, bold=True)
    cols = [("pos", L["pos"], 50, 78, "l"), ("desc", L["desc"], 78, 300, "l"), ("qty", L["qty"], 300, 345, "r"),
            ("unit", L["unit"], 345, 385, "l"), ("price", L["price"], 385, 465, "r"),
            ("amount", L["amount"], 465, 545, "r")]
    bottom = table(c, 575, cols, d["rows"], "shaded")
    y = totals(c, d, bottom - 22, 352, 542)
    notes(c, d, y - 18)
    footer(c, d)


def layout_b(c, d):
    """Big title top right, metadata as one row of columns under it, 'bill to' block, ruled table."""
    L, v = d["L"], d["vendor"]
    name_w = letterhead(c, d, 785, 16)
    title = L["title"].upper()
    assert 50 + name_w + 15 < 545 - text_width(title, 24, True), "letterhead collides with title"
    c.rtext(545, 781, title, 24, bold=True, gray=0.2)
    c.rtext(545, 766, L["page"], 8, gray=0.4)
    meta = [(L["inv_no"], d["number"]), (L["inv_date"], d["date_s"]), (L["due"], d["due_s"])]
    meta += [(L["po"], d["po"])] if d["po"] else []
    c.line(50, 714, 545, 714, 0.8)
    for i, (label, value) in enumerate(meta):
        x = 50 + 124 * i
        c.text(x, 701, label.upper(), 7, bold=True, gray=0.4)
        c.text(x, 687, value, 10)
    c.line(50, 677, 545, 677, 0.8)
    c.text(50, 652, L["bill_to"].upper(), 7, bold=True, gray=0.4)
    for i, s in enumerate(buyer_lines(d["lang"])):
        c.text(50, 638 - 12 * i, s, 9, bold=(i == 0))
    c.text(330, 652, L["cust_no"].upper(), 7, bold=True, gray=0.4)
    c.text(330, 638, v["customer_no"], 9)
    c.text(330, 616, L["contact"].upper(), 7, bold=True, gray=0.4)
    c.text(330, 602, L["mailbox"] + "@" + v["domains"][0], 9)
    cols = [("sku", L["sku"], 50, 125, "l"), ("desc", L["desc"], 125, 345, "l"), ("qty", L["qty"], 345, 390, "r"),
            ("price", L["price"], 390, 465, "r"), ("amount", L["amount"], 465, 545, "r")]
    bottom = table(c, 560, cols, d["rows"], "rule")
    y = totals(c, d, bottom - 22, 370, 545)
    notes(c, d, y - 18)
    footer(c, d, xs=(50, 220, 390))


def layout_c(c, d):
    """Boxed: client address box top right, label-above-value metadata boxes, grid table, totals box."""
    L, v = d["L"], d["vendor"]
    letterhead(c, d, 790, 14)
    c.text(50, 731 - 11, v["domains"][0], 8, gray=0.4)
    c.rect(320, 710, 225, 80, 0.6)
    c.text(328, 780, L["bill_to"], 7, gray=0.4)
    for i, s in enumerate(buyer_lines(d["lang"])):
        c.text(328, 767 - 11 * i, s, 9, bold=(i == 0))
    c.text(50, 676, L["title"].upper(), 16, bold=True)
    boxes = [(L["inv_no"], d["number"]), (L["inv_date"], d["date_s"]), (L["due"], d["due_s"])]
    boxes += [(L["po"], d["po"])] if d["po"] else []
    boxes += [(L["cust_no"], v["customer_no"])]
    for i, (label, value) in enumerate(boxes):
        x, top = 50 + 167 * (i % 3), 660 - 40 * (i // 3)
        c.rect(x, top - 34, 161, 34, 0.6)
        c.text(x + 6, top - 11, label, 7, gray=0.4)
        c.text(x + 6, top - 26, value, 10, bold=True)
    cols = [("sku", L["sku"], 50, 126, "l"), ("desc", L["desc"], 126, 322, "l"), ("qty", L["qty"], 322, 360, "r"),
            ("price", L["price"], 360, 425, "r"), ("rate", L["rate"], 425, 462, "r"),
            ("amount", L["amount"], 462, 545, "r")]
    bottom = table(c, 570, cols, d["rows"], "grid", row_h=16)
    n_rows = 2 + len(d["vats"])
    box_top = bottom - 12
    c.rect(335, box_top - 15 * n_rows - 8, 210, 15 * n_rows + 8, 0.6)
    totals(c, d, box_top - 15, 343, 538, step=15)
    notes(c, d, box_top - 15 * n_rows - 32)
    footer(c, d)


LAYOUTS = {"A": layout_a, "B": layout_b, "C": layout_c}


# ----------------------------------------------------------------------------- assembly
def invoice_doc(inv):
    v = VENDOR_BY_ID[inv["vendor"]]
    lang = v["lang"]
    L = dict(LABELS[lang], **v.get("labels", {}))
    po_key = inv.get("po_lines", inv["po"])
    spec = inv.get("lines") or POS[po_key][1]
    rows, items, by_rate = [], [], {}
    for pos, (sku, qty) in enumerate(spec, 1):
        desc, unit, price, rate = CATALOG[sku]
        price = money(inv.get("prices", {}).get(sku, price))
        amount = money(D(qty) * price)
        by_rate[rate] = by_rate.get(rate, D(0)) + amount
        rows.append(dict(pos=str(pos), sku=sku, desc=desc, qty=fmt_qty(qty, lang), unit=UNITS[lang][unit],
                         price=fmt_num(price, lang), rate="%d %%" % rate if lang != "en" else "%d%%" % rate,
                         amount=fmt_num(amount, lang)))
        items.append(dict(description=desc, quantity=plain_qty(qty), unit_price=str(price), amount=str(amount)))
    vats = [(r, money(a * r / 100)) for r, a in sorted(by_rate.items())]
    net = sum(by_rate.values(), D(0))
    tax = sum((a for _, a in vats), D(0))
    total = money(inv.get("total", net + tax))
    inv_date = dt.date.fromisoformat(inv["date"])
    due = inv_date + dt.timedelta(days=terms_days(v["terms"]))
    date_style = inv.get("dates", v["dates"])
    d = dict(vendor=v, lang=lang, L=L, number=inv["no"], po=inv["po"], rows=rows, vats=vats, net=net,
             total=total, date_s=fmt_date(inv_date, date_style), due_s=fmt_date(due, date_style),
             cur=lambda x: fmt_money(x, v["cur_style"]), iban=inv.get("iban", v["ibans"][0]),
             bic=inv.get("bic", v["bic"]), bank=inv.get("bank", v["bank"]), variant=inv.get("variant", 0),
             notice=inv.get("notice", []))
    d["terms_text"] = terms_text(lang, v["terms"], d["due_s"])
    fields = dict(invoice_number=inv["no"], invoice_date=inv_date.isoformat(), due_date=due.isoformat(),
                  vendor_name=v["name"], vendor_vat_id=v["vat"], currency=v["currency"], total_amount=str(total),
                  net_amount=str(net), tax_amount=str(tax))
    if inv["po"]:
        fields["po_number"] = inv["po"]
    fields["iban"] = d["iban"]
    fields["line_items"] = items
    return d, fields


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


def main():
    inv_dir = HERE / "invoices"
    inv_dir.mkdir(parents=True, exist_ok=True)
    for old in sorted(inv_dir.glob("*.pdf")):
        old.unlink()
    write_jsonl(HERE / "vendors.jsonl", [
        dict(vendor_id=v["id"], name=v["name"], aliases=v["aliases"], vat_id=v["vat"], ibans=v["ibans"],
             payment_terms=v["terms"], currency=v["currency"], email_domains=v["domains"]) for v in VENDORS])
    pos_out = []
    for po, (vid, lines) in POS.items():
        out_lines = []
        for no, (sku, qty) in enumerate(lines, 1):
            desc, unit, price, rate = CATALOG[sku]
            out_lines.append(dict(line_no=no, sku=sku, description=desc, quantity=plain_qty(qty), unit=unit,
                                  unit_price=price, tax_rate=str(rate)))
        pos_out.append(dict(po_number=po, vendor_id=vid, currency=VENDOR_BY_ID[vid]["currency"], status="open",
                            lines=out_lines))
    write_jsonl(HERE / "pos.jsonl", pos_out)
    rec_out = []
    for rid, (po, day, lines) in RECEIPTS.items():
        lines = lines or [(i, q) for i, (_, q) in enumerate(POS[po][1], 1)]
        rec_out.append(dict(receipt_id=rid, po_number=po, received_on=day,
                            lines=[dict(line_no=no, quantity=plain_qty(q)) for no, q in lines]))
    write_jsonl(HERE / "receipts.jsonl", rec_out)
    truth, table_rows = [], []
    for i, inv in enumerate(INVOICES, 1):
        d, fields = invoice_doc(inv)
        slug = d["vendor"]["name"].split()[0].lower().translate({228: "ae", 246: "oe", 252: "ue"})
        fname = "%02d_%s_%s.pdf" % (i, slug, inv["no"])
        c = Canvas()
        LAYOUTS[inv["layout"]](c, d)
        (inv_dir / fname).write_bytes(build_pdf(b"\n".join(c.ops) + b"\n", "Invoice " + inv["no"]))
        truth.append({"file": fname, "fields": fields,
                      "expected": {"status": inv["status"], "reasons": inv["reasons"]}})
        table_rows.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            fname, d["vendor"]["name"], d["lang"].upper(), inv["layout"], fields["total_amount"] + " " +
            fields["currency"], inv["status"] + (" (" + ", ".join(inv["reasons"]) + ")" if inv["reasons"] else ""),
            inv["scenario"]))
    write_jsonl(inv_dir / "truth.jsonl", truth)
    (HERE / "README.md").write_text(README.format(table="\n".join(table_rows)), encoding="utf-8")


README = """# apflow sample data

Generated by `generate.py` (Python 3 standard library only, deterministic: rerunning it
produces byte-identical files). **All companies, people, addresses, VAT ids and bank
accounts are fictional**; VAT ids and IBANs merely carry valid check digits. E-mail and
web domains use the reserved `.example` TLD.

Regenerate (from anywhere): `python3 samples/generate.py` - the script rewrites every file
below and edits nothing else. Change data in its tables (`VENDORS`, `CATALOG`, `POS`,
`RECEIPTS`, `INVOICES`), never the outputs.

| file | contents |
|---|---|
| `vendors.jsonl` | vendor master: 6 vendors (DE, FR, GB/GBP, ES) with aliases, VAT id, IBANs, terms |
| `pos.jsonl` | 10 open purchase orders for the buyer ACME Manufacturing GmbH |
| `receipts.jsonl` | goods receipts (PO-2026-0101 arrives in two deliveries, 0104 and 0107 partially) |
| `invoices/*.pdf` | single-page A4 PDF 1.4 invoices, Helvetica/WinAnsi text, 3 layouts, DE/EN/FR |
| `invoices/truth.jsonl` | per PDF: the fields printed on it and the expected processing outcome |
| `mail/` | not generated: the demo stack's mailbox (`docker-compose.yml`): apflow's config, the Dovecot tweak, the demo password |

`truth.jsonl` fields are what the document says (the printed total even when it is wrong);
keys for data not on the document (e.g. `po_number`) are omitted. IBANs are printed in
groups of four but given compact in the truth file. `expected.reasons` lists every reason
code that applies. Layouts: **A** address window + metadata block top right, shaded table;
**B** big title, metadata as one row of columns, ruled table; **C** boxed metadata
(label above value), grid table with VAT column, totals box.

| file | vendor | lang | layout | total | expected | scenario |
|---|---|---|---|---|---|---|
{table}
"""

if __name__ == "__main__":
    main()
