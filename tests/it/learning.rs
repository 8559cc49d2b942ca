//! Learning from corrections: a vendor prints its due date under a label
//! the rules do not know. A clerk corrects it once; the vendor's next
//! invoice, same layout, comes out right.

use apflow::domain::{DocumentId, InvoiceId, Role, User};

use crate::helpers::{Db, fresh, load_sample_master_data};
use crate::hostile::pdf_with_contents;

/// An invoice from Nordlicht (a vendor in the sample master data) in a
/// layout of its own: the due date stands beside "Bitte begleichen bis".
fn nordlicht_invoice(number: &str, due: &str, total: &str) -> Vec<u8> {
    invoice_from(
        (
            "Nordlicht Buerobedarf GmbH",
            "DE273849154",
            "DE34 2005 0550 1234 5678 90",
        ),
        number,
        due,
        total,
    )
}

/// The same layout for any vendor: (name, VAT id, IBAN).
fn invoice_from(vendor: (&str, &str, &str), number: &str, due: &str, total: &str) -> Vec<u8> {
    let (name, vat, iban) = vendor;
    let text =
        |x: u32, y: u32, size: u32, s: &str| format!("BT /F1 {size} Tf {x} {y} Td ({s}) Tj ET\n");
    let content = [
        text(50, 790, 14, name),
        text(
            50,
            772,
            9,
            &format!("Hafenstrasse 21, 20457 Hamburg  USt-IdNr. {vat}"),
        ),
        text(50, 700, 16, "Rechnung"),
        text(50, 670, 10, "Rechnungsnummer:"),
        text(200, 670, 10, number),
        text(50, 655, 10, "Rechnungsdatum:"),
        text(200, 655, 10, "02.03.2026"),
        text(340, 600, 10, "Bitte begleichen bis"),
        text(480, 600, 10, due),
        text(50, 560, 10, "Pos. Beschreibung Menge Preis Betrag"),
        text(50, 545, 10, "1 Beratung 1 100,00 100,00"),
        text(340, 500, 10, "Nettobetrag"),
        text(480, 500, 10, "100,00"),
        text(340, 486, 10, "USt. 19 Prozent"),
        text(480, 486, 10, "19,00"),
        text(340, 472, 10, "Gesamtbetrag"),
        text(480, 472, 10, total),
        text(50, 100, 8, &format!("IBAN {iban}")),
    ]
    .concat();
    pdf_with_contents(&[content.into_bytes()], false)
}

async fn ingest(t: &crate::helpers::TestDb, name: &str, bytes: Vec<u8>) -> InvoiceId {
    let doc = crate::helpers::process_upload(t, name, bytes).await;
    invoice_of(t, doc).await
}

/// A new clerk, "clara", corrects one field of `invoice`.
async fn clerk_corrects(t: &crate::helpers::TestDb, invoice: InvoiceId, field: &str, value: &str) {
    let hash = apflow::web::auth::hash_password("a long test password").unwrap();
    let id = t
        .store
        .add_user("clara", &hash, Role::Clerk, None)
        .await
        .unwrap()
        .unwrap();
    let clara = User {
        id,
        username: "clara".into(),
        role: Role::Clerk,
        approval_limit: None,
        cost_centres: vec![],
    };
    apflow::workflow::review::correct_field(&t.store, &t.settings, invoice, field, value, &clara)
        .await
        .unwrap();
}

async fn invoice_of(t: &crate::helpers::TestDb, doc: DocumentId) -> InvoiceId {
    match t.store.invoice_for_document(doc).await.unwrap() {
        Some(id) => id,
        None => {
            let d = t.store.document(doc).await.unwrap().unwrap();
            panic!("no invoice: {:?} {:?}", d.meta.status, d.meta.reason)
        }
    }
}

#[tokio::test]
async fn a_correction_teaches_where_the_vendor_prints_the_field() {
    let t = fresh(Db::Sqlite).await;
    load_sample_master_data(&t.store).await;
    let first = ingest(
        &t,
        "a.pdf",
        nordlicht_invoice("RE-7001", "31.03.2026", "119,00"),
    )
    .await;
    let before = t.store.load_extraction(first).await.unwrap();
    assert_eq!(
        before.invoice_number.as_ref().map(|f| f.value.as_str()),
        Some("RE-7001"),
        "the layout is otherwise readable"
    );
    let due =
        |inv: &apflow::domain::ExtractedInvoice| inv.due_date.as_ref().map(|f| f.value.to_string());
    // The label rules do not know this label, so without the learned model
    // only the correction can teach it (the model may read it anyway).
    let read = apflow::read::read(
        &nordlicht_invoice("RE-7001", "31.03.2026", "119,00"),
        &Default::default(),
    )
    .unwrap();
    assert_ne!(
        due(&apflow::extract::extract_with(&read, None)).as_deref(),
        Some("2026-03-31"),
        "the rules do not know this label (otherwise this test proves nothing)"
    );
    assert!(before.invoice_number.is_some());

    clerk_corrects(&t, first, "due_date", "2026-03-31").await;

    let second = ingest(
        &t,
        "b.pdf",
        nordlicht_invoice("RE-7002", "15.04.2026", "119,00"),
    )
    .await;
    let after = t.store.load_extraction(second).await.unwrap();
    assert_eq!(
        due(&after).as_deref(),
        Some("2026-04-15"),
        "learned from the correction"
    );
    let f = after.due_date.unwrap();
    assert!(f.confidence > 0.9 && f.location.is_some());

    // Another vendor's invoice in the same layout learns nothing from it.
    let other = invoice_from(
        (
            "Fremde Firma AG",
            "DE999999999",
            "DE89 3704 0044 0532 0130 00",
        ),
        "X-1",
        "20.04.2026",
        "119,00",
    );
    let third = ingest(&t, "c.pdf", other).await;
    let third = t.store.load_extraction(third).await.unwrap();
    // (The model may read the date itself; what must not happen is the
    // vendor's memory applied: its confidence is 0.92.)
    assert!(
        third
            .due_date
            .as_ref()
            .is_none_or(|f| (f.confidence - 0.92).abs() > 1e-6),
        "{:?} {:?} {:?}",
        third.vendor_name,
        third.vendor_vat_id,
        third.iban
    );
}

/// Factur-X XML for the Nordlicht layout above: number, issue and due date,
/// 100.00 + 19.00 = 119.00, its VAT id and IBAN.
fn nordlicht_cii(number: &str, due: &str) -> String {
    nordlicht_cii_of(number, due, ("100.00", "19.00", "119.00"))
}

/// The same XML with other amounts: (net, tax, total).
fn nordlicht_cii_of(number: &str, due: &str, (net, tax, total): (&str, &str, &str)) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
  xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
  xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">
  <rsm:ExchangedDocument>
    <ram:ID>{number}</ram:ID>
    <ram:TypeCode>380</ram:TypeCode>
    <ram:IssueDateTime><udt:DateTimeString format="102">20260302</udt:DateTimeString></ram:IssueDateTime>
  </rsm:ExchangedDocument>
  <rsm:SupplyChainTradeTransaction>
    <ram:ApplicableHeaderTradeAgreement>
      <ram:SellerTradeParty>
        <ram:Name>Nordlicht Buerobedarf GmbH</ram:Name>
        <ram:SpecifiedTaxRegistration><ram:ID schemeID="VA">DE273849154</ram:ID></ram:SpecifiedTaxRegistration>
      </ram:SellerTradeParty>
    </ram:ApplicableHeaderTradeAgreement>
    <ram:ApplicableHeaderTradeSettlement>
      <ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>
      <ram:SpecifiedTradeSettlementPaymentMeans>
        <ram:TypeCode>58</ram:TypeCode>
        <ram:PayeePartyCreditorFinancialAccount><ram:IBANID>DE34200505501234567890</ram:IBANID></ram:PayeePartyCreditorFinancialAccount>
      </ram:SpecifiedTradeSettlementPaymentMeans>
      <ram:SpecifiedTradePaymentTerms>
        <ram:DueDateDateTime><udt:DateTimeString format="102">{due}</udt:DateTimeString></ram:DueDateDateTime>
      </ram:SpecifiedTradePaymentTerms>
      <ram:SpecifiedTradeSettlementHeaderMonetarySummation>
        <ram:TaxBasisTotalAmount>{net}</ram:TaxBasisTotalAmount>
        <ram:TaxTotalAmount currencyID="EUR">{tax}</ram:TaxTotalAmount>
        <ram:GrandTotalAmount>{total}</ram:GrandTotalAmount>
        <ram:DuePayableAmount>{total}</ram:DuePayableAmount>
      </ram:SpecifiedTradeSettlementHeaderMonetarySummation>
    </ram:ApplicableHeaderTradeSettlement>
  </rsm:SupplyChainTradeTransaction>
</rsm:CrossIndustryInvoice>"#
    )
}

/// What the extraction's audit entry says an e-invoice taught: the fields
/// of `layout_taught`, in order; `None` when it taught nothing.
async fn taught_fields(t: &crate::helpers::TestDb, invoice: InvoiceId) -> Option<Vec<String>> {
    let entries = t
        .store
        .audit_trail("invoice", &invoice.to_string())
        .await
        .unwrap();
    let extracted = entries
        .iter()
        .find(|e| e.action == "invoice.extracted")
        .expect("the extraction is audited");
    let detail: serde_json::Value = serde_json::from_str(&extracted.detail).unwrap();
    detail["layout_taught"]["fields"]
        .as_array()
        .map(|a| a.iter().map(|f| f.as_str().unwrap().to_string()).collect())
}

/// A vendor's hybrid PDF teaches its layout: the XML says which printed
/// value is the due date (under a label no rule knows), and the vendor's
/// next paper invoice in that layout is read from the same place. Its bank
/// account's place is never taught by a document.
#[tokio::test]
async fn an_einvoice_teaches_where_its_vendor_prints_the_fields() {
    for db in crate::helpers::BOTH {
        let t = fresh(db).await;
        load_sample_master_data(&t.store).await;
        let pdf = nordlicht_invoice("RE-8001", "31.03.2026", "119,00");
        let xml = nordlicht_cii("RE-8001", "20260331");
        let hybrid = ingest(&t, "hybrid.pdf", crate::hybrid::attach_xml(&pdf, &xml)).await;
        let taught = taught_fields(&t, hybrid)
            .await
            .expect("a layout was taught");
        assert!(taught.contains(&"due_date".to_string()), "{taught:?}");
        assert!(!taught.contains(&"iban".to_string()), "{taught:?}");

        // The paper invoice: its due date comes from the taught place
        // (or the model, sure of it: either way it is right), never left
        // unread.
        let paper = ingest(
            &t,
            "paper.pdf",
            nordlicht_invoice("RE-8002", "15.04.2026", "119,00"),
        )
        .await;
        let paper = t.store.load_extraction(paper).await.unwrap();
        let due = paper.due_date.expect("the due date is read");
        assert_eq!(due.value.to_string(), "2026-04-15", "{db:?}");
        assert!(due.location.is_some());
    }
}

/// Without the learned place, a paper invoice in this layout does not get
/// its due date from the rules alone: the test above proves the teaching,
/// not the rules.
#[test]
fn the_rules_alone_miss_the_unusual_due_date_label() {
    let read = apflow::read::read(
        &nordlicht_invoice("RE-8002", "15.04.2026", "119,00"),
        &Default::default(),
    )
    .unwrap();
    let rules = apflow::extract::extract_with(&read, None);
    assert_ne!(
        rules.due_date.map(|f| f.value.to_string()).as_deref(),
        Some("2026-04-15")
    );
    // And with the e-invoice's places applied, it does.
    let pdf = nordlicht_invoice("RE-8001", "31.03.2026", "119,00");
    let hybrid = apflow::read::read(
        &crate::hybrid::attach_xml(&pdf, &nordlicht_cii("RE-8001", "20260331")),
        &Default::default(),
    )
    .unwrap();
    let xml = apflow::extract::extract(&hybrid);
    let places = apflow::extract::memory::learn_from_einvoice(&xml, &hybrid.pages);
    let mut paper = apflow::extract::extract_with(&read, None);
    let read_from_places = apflow::extract::memory::apply(&mut paper, &read.pages, &places);
    assert!(read_from_places.contains(&"due_date".to_string()));
    let due = paper.due_date.expect("read from the taught place");
    assert_eq!(due.value.to_string(), "2026-04-15");
    // A document taught the place: what is read there is never sure on
    // its own (a clerk's place reads at 0.92).
    assert!((0.5..0.9).contains(&due.confidence), "{}", due.confidence);
}

/// An attacker's hybrid PDF cannot undo what a clerk taught, and a hybrid
/// whose page contradicts its XML teaches nothing.
#[tokio::test]
async fn a_clerks_place_outranks_an_einvoice_and_a_contradicted_xml_teaches_nothing() {
    let t = fresh(Db::Sqlite).await;
    load_sample_master_data(&t.store).await;
    let first = ingest(
        &t,
        "a.pdf",
        nordlicht_invoice("RE-9001", "31.03.2026", "119,00"),
    )
    .await;
    clerk_corrects(&t, first, "due_date", "2026-03-31").await;
    let vendor = "V-1001";
    let clerk_place = t.store.field_places(vendor).await.unwrap();
    let due_place = |places: &[apflow::extract::memory::FieldPlace]| {
        places.iter().find(|p| p.field == "due_date").cloned()
    };
    let before = due_place(&clerk_place).expect("the correction taught the place");
    assert_eq!(
        before.taught_by,
        apflow::extract::memory::TaughtBy::Correction
    );

    // A hybrid whose XML due date is printed elsewhere on its page (the
    // invoice date's place): were it taught, the due date would be read
    // from the wrong line.
    let pdf = nordlicht_invoice("RE-9002", "30.04.2026", "119,00");
    let hybrid = ingest(
        &t,
        "h.pdf",
        crate::hybrid::attach_xml(&pdf, &nordlicht_cii("RE-9002", "20260302")),
    )
    .await;
    let after = due_place(&t.store.field_places(vendor).await.unwrap()).unwrap();
    assert_eq!(after, before, "the clerk's place stands");
    let _ = hybrid;

    // XML of another invoice (its number is not on the page): nothing.
    let other = crate::hybrid::attach_xml(&pdf, &nordlicht_cii("RE-0000", "20260430"));
    let other = ingest(&t, "x.pdf", other).await;
    assert_eq!(taught_fields(&t, other).await, None);
}

/// An outside sender forges a hybrid PDF in Nordlicht's name whose page
/// agrees with its XML but prints the total where Nordlicht prints its
/// net amount, to teach that place as the total. Nordlicht's next real
/// invoice still gets its printed total (119.00, not the net 100.00), and
/// nothing read from a place a document taught counts as sure.
#[tokio::test]
async fn a_forged_einvoice_cannot_change_what_a_vendors_next_invoice_is_paid() {
    let t = fresh(Db::Sqlite).await;
    load_sample_master_data(&t.store).await;
    let text =
        |x: u32, y: u32, size: u32, s: &str| format!("BT /F1 {size} Tf {x} {y} Td ({s}) Tj ET\n");
    let forged_page = [
        text(50, 790, 14, "Nordlicht Buerobedarf GmbH"),
        text(
            50,
            772,
            9,
            "Hafenstrasse 21, 20457 Hamburg  USt-IdNr. DE273849154",
        ),
        text(50, 700, 16, "Rechnung"),
        text(50, 670, 10, "Rechnungsnummer:"),
        text(200, 670, 10, "RE-6666"),
        text(50, 655, 10, "Rechnungsdatum:"),
        text(200, 655, 10, "02.03.2026"),
        // The total, alone, on the line where the real layout has its net.
        text(340, 500, 10, "Summe"),
        text(480, 500, 10, "50,00"),
        text(50, 100, 8, "IBAN DE34 2005 0550 1234 5678 90"),
    ]
    .concat();
    let forged = crate::hostile::pdf_with_contents(&[forged_page.into_bytes()], false);
    let xml = nordlicht_cii_of("RE-6666", "20260331", ("50.00", "0.00", "50.00"));
    let forged = ingest(&t, "forged.pdf", crate::hybrid::attach_xml(&forged, &xml)).await;
    let taught = taught_fields(&t, forged).await.unwrap_or_default();
    assert!(
        taught.contains(&"total_amount".to_string()),
        "the forgery taught the net's place as the total (else this proves nothing): {taught:?}"
    );

    let real = ingest(
        &t,
        "real.pdf",
        nordlicht_invoice("RE-6667", "15.04.2026", "119,00"),
    )
    .await;
    let real = t.store.load_extraction(real).await.unwrap();
    let amount = |f: &Option<apflow::domain::Field<rust_decimal::Decimal>>| {
        f.as_ref().map(|f| (f.value.to_string(), f.confidence))
    };
    let (total, confidence) = amount(&real.total_amount).expect("a total");
    assert_eq!(total, "119.00");
    assert!(
        (confidence - 0.75).abs() > 1e-6,
        "the total was not read from the forged place"
    );
    assert_eq!(
        amount(&real.net_amount).map(|a| a.0).as_deref(),
        Some("100.00")
    );
}
