//! greet: an onex-host compute node in Rust. Its "greet" computation turns
//! {"name": "world"} into {"greeting": "Hello, world!"}; the config key salutation
//! (--config salutation=Hi) replaces "Hello".
//!
//! The manifest declares the input's JSON Schema (`input_schema`): the host checks every
//! input against it before calling the plugin, so `{"name": 5}` is refused at the door
//! with `invalid_input` and the path (`/name: want string, got number`).

use onex::{json_quote, json_string, status, Error};

const MANIFEST: &str = r#"{"name":"greet","version":"0.1.0","kind":"compute",
"description":"Greets people by name","deterministic":true,
"computations":[{"name":"greet","description":"Greet someone by name",
"input_schema":{"type":"object","required":["name"],"properties":{"name":{"type":"string","minLength":1}}}}],
"config":[{"name":"salutation","default":"Hello"}]}"#;

onex::plugin!(compute, MANIFEST, handle);

fn handle(name: &str, data: &[u8]) -> Result<Vec<u8>, Error> {
    if name != "greet" {
        return Err(Error::new(status::UNKNOWN_COMPUTATION, format!("no computation {}", name)));
    }
    let who = json_string(data, "name")
        .filter(|n| !n.is_empty())
        .ok_or_else(|| Error::new(status::INVALID_INPUT, "want {\"name\": a non-empty string}"))?;
    onex::log(onex::level::INFO, "greeting someone");
    let hello = onex::config("salutation").unwrap_or_else(|| "Hello".to_string());
    Ok(format!("{{\"greeting\":{}}}", json_quote(&format!("{}, {}!", hello, who))).into_bytes())
}

#[cfg(test)]
mod tests {
    #[test]
    fn greets() {
        assert_eq!(super::handle("greet", br#"{"name":"world"}"#).unwrap(), br#"{"greeting":"Hello, world!"}"#.to_vec());
        assert_eq!(super::handle("greet", b"{}").unwrap_err().status, onex::status::INVALID_INPUT);
    }
}
