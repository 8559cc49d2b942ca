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
    apflow::workflow::review::correct_field(
        &t.store,
        &t.settings,
        first,
        "due_date",
        "2026-03-31",
        &clara,
    )
    .await
    .unwrap();

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
