//! SEPA Credit Transfer initiation files (ISO 20022 pain.001), versions
//! 001.001.03 (still the one most banks take) and 001.001.09. Written with
//! plain string building: the structure is fixed and small, and every file
//! is validated against the official schema in the tests.

use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PainVersion {
    V03,
    V09,
}

impl PainVersion {
    pub fn parse(s: &str) -> Option<PainVersion> {
        match s.trim() {
            "03" | "pain.001.001.03" => Some(PainVersion::V03),
            "09" | "pain.001.001.09" => Some(PainVersion::V09),
            _ => None,
        }
    }

    fn namespace(self) -> &'static str {
        match self {
            PainVersion::V03 => "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03",
            PainVersion::V09 => "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09",
        }
    }
}

/// The paying company's account.
#[derive(Debug, Clone, PartialEq)]
pub struct Debtor {
    pub name: String,
    pub iban: String,
    pub bic: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CreditTransfer {
    /// Travels to the vendor's bank statement; unique per payment.
    pub end_to_end_id: String,
    pub amount: Decimal,
    pub creditor_name: String,
    pub creditor_iban: String,
    /// Invoice number(s) the vendor books the payment to.
    pub remittance: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CreditTransferFile {
    pub message_id: String,
    pub created_at: NaiveDateTime,
    pub execution_date: NaiveDate,
    pub currency: String,
    pub debtor: Debtor,
    pub transfers: Vec<CreditTransfer>,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// Cuts to the schema's maximum length, on a character boundary.
fn max(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

fn amount(d: Decimal) -> String {
    format!("{:.2}", d.round_dp(2))
}

fn agent(bic: Option<&str>, v: PainVersion) -> String {
    match (bic, v) {
        (Some(b), PainVersion::V03) => format!("<FinInstnId><BIC>{}</BIC></FinInstnId>", esc(b)),
        (Some(b), PainVersion::V09) => {
            format!("<FinInstnId><BICFI>{}</BICFI></FinInstnId>", esc(b))
        }
        (None, _) => "<FinInstnId><Othr><Id>NOTPROVIDED</Id></Othr></FinInstnId>".to_string(),
    }
}

impl CreditTransferFile {
    pub fn control_sum(&self) -> Decimal {
        self.transfers.iter().map(|t| t.amount.round_dp(2)).sum()
    }

    /// The pain.001 document.
    pub fn to_xml(&self, v: PainVersion) -> String {
        let n = self.transfers.len();
        let sum = amount(self.control_sum());
        let created = self.created_at.format("%Y-%m-%dT%H:%M:%S");
        let date = self.execution_date.format("%Y-%m-%d");
        let reqd = match v {
            PainVersion::V03 => format!("<ReqdExctnDt>{date}</ReqdExctnDt>"),
            PainVersion::V09 => format!("<ReqdExctnDt><Dt>{date}</Dt></ReqdExctnDt>"),
        };
        let d = &self.debtor;
        // SEPA is euro only; other currencies go as plain ISO 20022 credit
        // transfers with shared charges.
        let sepa = self.currency == "EUR";
        let mut x = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Document xmlns=\"{ns}\">\n<CstmrCdtTrfInitn>\n\
             <GrpHdr><MsgId>{id}</MsgId><CreDtTm>{created}</CreDtTm><NbOfTxs>{n}</NbOfTxs><CtrlSum>{sum}</CtrlSum>\
             <InitgPty><Nm>{name}</Nm></InitgPty></GrpHdr>\n\
             <PmtInf><PmtInfId>{id}</PmtInfId><PmtMtd>TRF</PmtMtd><BtchBookg>true</BtchBookg><NbOfTxs>{n}</NbOfTxs><CtrlSum>{sum}</CtrlSum>\
             {svc}{reqd}\
             <Dbtr><Nm>{name}</Nm></Dbtr><DbtrAcct><Id><IBAN>{iban}</IBAN></Id></DbtrAcct><DbtrAgt>{agent}</DbtrAgt><ChrgBr>{charges}</ChrgBr>\n",
            ns = v.namespace(),
            id = esc(&max(&self.message_id, 35)),
            name = esc(&max(&d.name, 70)),
            iban = esc(&d.iban),
            agent = agent(d.bic.as_deref(), v),
            svc = if sepa {
                "<PmtTpInf><SvcLvl><Cd>SEPA</Cd></SvcLvl></PmtTpInf>"
            } else {
                ""
            },
            charges = if sepa { "SLEV" } else { "SHAR" },
        );
        for t in &self.transfers {
            x.push_str(&format!(
                "<CdtTrfTxInf><PmtId><EndToEndId>{e2e}</EndToEndId></PmtId><Amt><InstdAmt Ccy=\"{ccy}\">{amt}</InstdAmt></Amt>\
                 <Cdtr><Nm>{name}</Nm></Cdtr><CdtrAcct><Id><IBAN>{iban}</IBAN></Id></CdtrAcct>\
                 <RmtInf><Ustrd>{rmt}</Ustrd></RmtInf></CdtTrfTxInf>\n",
                e2e = esc(&max(&t.end_to_end_id, 35)),
                ccy = esc(&self.currency),
                amt = amount(t.amount),
                name = esc(&max(&t.creditor_name, 70)),
                iban = esc(&t.creditor_iban),
                rmt = esc(&max(&t.remittance, 140)),
            ));
        }
        x.push_str("</PmtInf>\n</CstmrCdtTrfInitn>\n</Document>\n");
        x
    }
}
