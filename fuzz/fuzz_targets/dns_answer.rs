//! A DNS server's answer (RFC 1035 wire format, compression pointers included): addresses and
//! aliases, or a failure, never a panic or an endless pointer loop.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let id = data
        .get(..2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
        .unwrap_or(0);
    if let Ok(Some(answer)) = azcm::network_check::dns::decode_answer(id, data) {
        assert!(answer.addresses.len() + answer.aliases.len() <= data.len());
    }
});
