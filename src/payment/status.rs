//! Bank status reports (ISO 20022 pain.002, Customer Payment Status
//! Report): which transfers the bank accepted or rejected, and why. Parsed
//! with the same safe XML settings as e-invoices (no DTDs, bounded size and
//! nesting depth).

/// The bank's answer for one transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferStatus {
    /// Our end-to-end id (the payment's idempotency key).
    pub end_to_end_id: String,
    pub accepted: bool,
    /// ISO status code (`ACSC`, `RJCT`, ...) and reason code (`AC04`, ...).
    pub status: String,
    pub reason: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error("status report is {0} bytes, over the 20 MiB limit")]
    TooLarge(usize),
    #[error(transparent)]
    TooDeep(#[from] crate::xml::TooDeep),
    #[error("status report is not valid XML")]
    Xml(#[source] roxmltree::Error),
    #[error("not a pain.002 payment status report (root {0:?})")]
    NotAStatusReport(String),
}

fn child<'a, 'i>(n: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    n.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

fn text(n: Option<roxmltree::Node<'_, '_>>) -> Option<String> {
    n.and_then(|n| n.text())
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
}

/// Reads the per-transaction statuses of a pain.002 report. Statuses that
/// are not final (`PDNG`, `RCVD`) are left out.
pub fn parse_status_report(xml: &str) -> Result<Vec<TransferStatus>, StatusError> {
    if xml.len() > 20 * 1024 * 1024 {
        return Err(StatusError::TooLarge(xml.len()));
    }
    let doc = crate::xml::parse(xml, 1_000_000).map_err(|e| match e {
        crate::xml::ParseError::TooDeep(deep) => StatusError::TooDeep(deep),
        crate::xml::ParseError::Xml(e) => StatusError::Xml(e),
    })?;
    let root = doc.root_element();
    let report = child(root, "CstmrPmtStsRpt")
        .ok_or_else(|| StatusError::NotAStatusReport(root.tag_name().name().to_string()))?;
    let mut out = Vec::new();
    for tx in report
        .descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == "TxInfAndSts")
    {
        let Some(e2e) = text(child(tx, "OrgnlEndToEndId")) else {
            continue;
        };
        let Some(status) = text(child(tx, "TxSts")) else {
            continue;
        };
        let accepted = match status.as_str() {
            "ACSC" | "ACCC" | "ACSP" | "ACTC" | "ACCP" | "ACWC" => true,
            "RJCT" | "CANC" => false,
            _ => continue,
        };
        let reason = child(tx, "StsRsnInf")
            .and_then(|r| child(r, "Rsn"))
            .and_then(|r| text(child(r, "Cd")));
        out.push(TransferStatus {
            end_to_end_id: e2e,
            accepted,
            status,
            reason,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_accepted_and_rejected_transfers() {
        let xml = r#"<?xml version="1.0"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"><CstmrPmtStsRpt>
<GrpHdr><MsgId>B1</MsgId><CreDtTm>2026-04-30T10:00:00</CreDtTm></GrpHdr>
<OrgnlGrpInfAndSts><OrgnlMsgId>APFLOW-20260430-2</OrgnlMsgId><OrgnlMsgNmId>pain.001.001.03</OrgnlMsgNmId></OrgnlGrpInfAndSts>
<OrgnlPmtInfAndSts><OrgnlPmtInfId>APFLOW-20260430-2</OrgnlPmtInfId>
<TxInfAndSts><OrgnlEndToEndId>invoice-1</OrgnlEndToEndId><TxSts>ACSC</TxSts></TxInfAndSts>
<TxInfAndSts><OrgnlEndToEndId>invoice-2</OrgnlEndToEndId><TxSts>RJCT</TxSts><StsRsnInf><Rsn><Cd>AC04</Cd></Rsn></StsRsnInf></TxInfAndSts>
<TxInfAndSts><OrgnlEndToEndId>invoice-3</OrgnlEndToEndId><TxSts>PDNG</TxSts></TxInfAndSts>
</OrgnlPmtInfAndSts></CstmrPmtStsRpt></Document>"#;
        let got = parse_status_report(xml).expect("valid report");
        assert_eq!(got.len(), 2);
        assert!(got[0].accepted && got[0].end_to_end_id == "invoice-1");
        assert_eq!(
            (got[1].accepted, got[1].reason.as_deref()),
            (false, Some("AC04"))
        );
        assert!(matches!(
            parse_status_report("<Document><Other/></Document>"),
            Err(StatusError::NotAStatusReport(_))
        ));
        assert!(parse_status_report("<!DOCTYPE x [<!ENTITY a 'b'>]><Document/>").is_err());
    }

    /// 5,000 nested elements would overflow the stack inside roxmltree.
    #[test]
    fn a_deeply_nested_report_is_refused_before_parsing() {
        let deep = format!(
            "<Document>{}{}</Document>",
            "<a>".repeat(5_000),
            "</a>".repeat(5_000)
        );
        assert!(matches!(
            parse_status_report(&deep),
            Err(StatusError::TooDeep(_))
        ));
    }
}
