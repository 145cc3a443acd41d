//! `Runtime.evaluate` in the target, returning a JSON value. This is what reading memory
//! figures (and, later, `watch`) is built on.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;

use crate::cdp::CdpClient;
use crate::error::{InspectorError, Result};

#[derive(Deserialize)]
struct EvaluateResult {
    result: RemoteObject,
    #[serde(rename = "exceptionDetails")]
    exception: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct RemoteObject {
    value: Option<serde_json::Value>,
    description: Option<String>,
}

/// Evaluates `expression` in the target's main context and decodes its value as `T`.
///
/// `includeCommandLineAPI` makes Node's console helpers available, among them `require`,
/// so expressions can use `require('v8')` even in an ES module program. `silent` keeps an
/// exception from pausing the target when it has "pause on exceptions" set by a debugger.
pub async fn evaluate<T: DeserializeOwned>(client: &mut CdpClient, expression: &str) -> Result<T> {
    let answer: EvaluateResult = client
        .call(
            "Runtime.evaluate",
            json!({
                "expression": expression,
                "returnByValue": true,
                "includeCommandLineAPI": true,
                "silent": true,
            }),
        )
        .await?;
    if answer.exception.is_some() {
        return Err(InspectorError::Protocol {
            method: "Runtime.evaluate".into(),
            code: 0,
            message: format!(
                "`{expression}` threw {}",
                answer
                    .result
                    .description
                    .unwrap_or_else(|| "an exception".into())
            ),
        });
    }
    let value = answer.result.value.unwrap_or(serde_json::Value::Null);
    serde_json::from_value(value).map_err(|e| InspectorError::BadMessage {
        context: format!("evaluating `{expression}`"),
        detail: e.to_string(),
    })
}
