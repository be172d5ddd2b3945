//! Name resolution for the connectivity check: the system resolver (what the agent itself uses),
//! or a given DNS server (`--dns-server`) asked directly over UDP, with TCP when the answer is
//! truncated — to test a private DNS zone before rollout. A small A/AAAA stub, nothing more.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Debug, Clone)]
pub enum Resolver {
    System,
    Server(SocketAddr),
}

#[derive(Debug, Clone)]
pub struct Resolution {
    pub addresses: Vec<IpAddr>,
    /// The CNAME chain the server answered with (private link zones show up here).
    pub aliases: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsFailure {
    /// NXDOMAIN: the name does not exist.
    NoSuchName,
    /// The name exists but has no A/AAAA record.
    NoAddress,
    /// The server answered with an error code (SERVFAIL, REFUSED, ...).
    ServerError(String),
    Timeout,
    Other(String),
}

impl std::fmt::Display for DnsFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoSuchName => write!(f, "the name does not exist (NXDOMAIN)"),
            Self::NoAddress => write!(f, "the name has no IPv4 or IPv6 address"),
            Self::ServerError(code) => write!(f, "the DNS server answered {code}"),
            Self::Timeout => write!(f, "the DNS server did not answer in time"),
            Self::Other(why) => write!(f, "{why}"),
        }
    }
}

impl Resolver {
    pub fn describe(&self) -> String {
        match self {
            Self::System => "system".into(),
            Self::Server(addr) => addr.to_string(),
        }
    }

    pub async fn resolve(&self, host: &str, timeout: Duration) -> Result<Resolution, DnsFailure> {
        if let Ok(ip) = host.trim_matches(['[', ']']).parse::<IpAddr>() {
            return Ok(Resolution {
                addresses: vec![ip],
                aliases: Vec::new(),
            });
        }
        match self {
            Self::System => {
                let lookup = tokio::net::lookup_host((host, 0));
                match tokio::time::timeout(timeout, lookup).await {
                    Err(_) => Err(DnsFailure::Timeout),
                    Ok(Err(e)) => Err(DnsFailure::Other(e.to_string())),
                    Ok(Ok(addrs)) => {
                        let mut addresses: Vec<IpAddr> = Vec::new();
                        for a in addrs {
                            if !addresses.contains(&a.ip()) {
                                addresses.push(a.ip());
                            }
                        }
                        if addresses.is_empty() {
                            Err(DnsFailure::NoAddress)
                        } else {
                            Ok(Resolution {
                                addresses,
                                aliases: Vec::new(),
                            })
                        }
                    }
                }
            }
            Self::Server(server) => {
                let ask = async {
                    let (v4, v6) = tokio::join!(
                        query(*server, host, RecordType::A),
                        query(*server, host, RecordType::Aaaa)
                    );
                    combine(v4, v6)
                };
                tokio::time::timeout(timeout, ask)
                    .await
                    .unwrap_or(Err(DnsFailure::Timeout))
            }
        }
    }
}

fn combine(
    v4: Result<Answer, DnsFailure>,
    v6: Result<Answer, DnsFailure>,
) -> Result<Resolution, DnsFailure> {
    let mut resolution = Resolution {
        addresses: Vec::new(),
        aliases: Vec::new(),
    };
    let mut first_error = None;
    for part in [v4, v6] {
        match part {
            Ok(answer) => {
                resolution.addresses.extend(answer.addresses);
                for alias in answer.aliases {
                    if !resolution.aliases.contains(&alias) {
                        resolution.aliases.push(alias);
                    }
                }
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if !resolution.addresses.is_empty() {
        return Ok(resolution);
    }
    Err(first_error.unwrap_or(DnsFailure::NoAddress))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordType {
    A,
    Aaaa,
}

impl RecordType {
    fn code(self) -> u16 {
        match self {
            Self::A => 1,
            Self::Aaaa => 28,
        }
    }
}

/// What a DNS server answered: the addresses and the CNAME chain that led to them.
#[derive(Debug, Default)]
pub struct Answer {
    pub addresses: Vec<IpAddr>,
    pub aliases: Vec<String>,
}

/// A recursive query for one name and type (RFC 1035 wire format).
pub fn encode_query(id: u16, host: &str, kind: RecordType) -> Result<Vec<u8>, DnsFailure> {
    let mut out = Vec::with_capacity(32 + host.len());
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in host.trim_end_matches('.').split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(DnsFailure::Other(format!(
                "'{host}' is not a valid DNS name"
            )));
        }
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    out.extend_from_slice(&kind.code().to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    Ok(out)
}

fn malformed() -> DnsFailure {
    DnsFailure::Other("the DNS server's answer is malformed".into())
}

fn u16_at(msg: &[u8], at: usize) -> Result<u16, DnsFailure> {
    msg.get(at..at + 2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
        .ok_or_else(malformed)
}

/// Reads a (possibly compressed) name; returns it and the offset after it.
fn read_name(msg: &[u8], mut at: usize) -> Result<(String, usize), DnsFailure> {
    let mut labels: Vec<String> = Vec::new();
    let mut end = None;
    for _ in 0..128 {
        let len = *msg.get(at).ok_or_else(malformed)? as usize;
        if len & 0xC0 == 0xC0 {
            let pointer = (u16_at(msg, at)? & 0x3FFF) as usize;
            end.get_or_insert(at + 2);
            at = pointer;
            continue;
        }
        if len == 0 {
            return Ok((labels.join("."), end.unwrap_or(at + 1)));
        }
        let label = msg.get(at + 1..at + 1 + len).ok_or_else(malformed)?;
        labels.push(String::from_utf8_lossy(label).into_owned());
        at += 1 + len;
    }
    Err(malformed())
}

/// Parses an answer to a query with `id`; `Ok(None)` when it is truncated (ask over TCP).
pub fn decode_answer(id: u16, msg: &[u8]) -> Result<Option<Answer>, DnsFailure> {
    if u16_at(msg, 0)? != id {
        return Err(malformed());
    }
    let flags = u16_at(msg, 2)?;
    if flags & 0x0200 != 0 {
        return Ok(None);
    }
    match flags & 0x000F {
        0 => {}
        3 => return Err(DnsFailure::NoSuchName),
        2 => return Err(DnsFailure::ServerError("SERVFAIL".into())),
        5 => return Err(DnsFailure::ServerError("REFUSED".into())),
        other => return Err(DnsFailure::ServerError(format!("RCODE {other}"))),
    }
    let questions = u16_at(msg, 4)?;
    let answers = u16_at(msg, 6)?;
    let mut at = 12;
    for _ in 0..questions {
        at = read_name(msg, at)?.1 + 4;
    }
    let mut answer = Answer::default();
    for _ in 0..answers {
        let (_, next) = read_name(msg, at)?;
        let kind = u16_at(msg, next)?;
        let len = u16_at(msg, next + 8)? as usize;
        let data_at = next + 10;
        let data = msg.get(data_at..data_at + len).ok_or_else(malformed)?;
        match (kind, len) {
            (1, 4) => answer.addresses.push(IpAddr::V4(Ipv4Addr::new(
                data[0], data[1], data[2], data[3],
            ))),
            (28, 16) => {
                let bytes: [u8; 16] = data.try_into().map_err(|_| malformed())?;
                answer.addresses.push(IpAddr::V6(Ipv6Addr::from(bytes)));
            }
            (5, _) => answer.aliases.push(read_name(msg, data_at)?.0),
            _ => {}
        }
        at = data_at + len;
    }
    Ok(Some(answer))
}

async fn query(server: SocketAddr, host: &str, kind: RecordType) -> Result<Answer, DnsFailure> {
    let id: u16 = rand::random();
    let packet = encode_query(id, host, kind)?;
    let io =
        |e: std::io::Error| DnsFailure::Other(format!("cannot ask the DNS server {server}: {e}"));
    let bind: SocketAddr = if server.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = tokio::net::UdpSocket::bind(bind).await.map_err(io)?;
    socket.connect(server).await.map_err(io)?;
    let mut buf = vec![0u8; 4096];
    // UDP may lose a packet: ask again after a second until the caller's timeout.
    let reply = loop {
        socket.send(&packet).await.map_err(io)?;
        match tokio::time::timeout(Duration::from_secs(1), socket.recv(&mut buf)).await {
            Ok(Ok(n)) if u16_at(&buf[..n], 0).ok() == Some(id) => break buf[..n].to_vec(),
            Ok(Ok(_)) | Err(_) => continue,
            Ok(Err(e)) => return Err(io(e)),
        }
    };
    if let Some(answer) = decode_answer(id, &reply)? {
        return Ok(answer);
    }
    let mut stream = tokio::net::TcpStream::connect(server).await.map_err(io)?;
    let mut framed = (packet.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&packet);
    stream.write_all(&framed).await.map_err(io)?;
    let len = stream.read_u16().await.map_err(io)? as usize;
    let mut reply = vec![0u8; len];
    stream.read_exact(&mut reply).await.map_err(io)?;
    decode_answer(id, &reply)?.ok_or_else(malformed)
}

/// RFC 1918, RFC 6598 (shared address space) and IPv6 unique local addresses: where private
/// endpoints live.
pub fn is_private(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            o[0] == 10
                || (o[0] == 172 && (16..=31).contains(&o[1]))
                || (o[0] == 192 && o[1] == 168)
                || (o[0] == 100 && (64..=127).contains(&o[1]))
        }
        IpAddr::V6(v6) => (v6.segments()[0] & 0xfe00) == 0xfc00,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_ranges() {
        for p in [
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.1",
            "192.168.1.1",
            "100.64.0.1",
            "100.127.1.1",
            "fd00::1",
            "fc12::5",
        ] {
            assert!(is_private(&p.parse().unwrap()), "{p}");
        }
        for p in [
            "20.1.2.3",
            "172.32.0.1",
            "100.128.0.1",
            "127.0.0.1",
            "8.8.8.8",
            "2001:db8::1",
            "::1",
        ] {
            assert!(!is_private(&p.parse().unwrap()), "{p}");
        }
    }

    #[test]
    fn answers_with_compression_and_cnames_decode() {
        let q = encode_query(
            7,
            "agentserviceapi.guestconfiguration.azure.com",
            RecordType::A,
        )
        .unwrap();
        let mut msg = q.clone();
        msg[2] = 0x81;
        msg[3] = 0x80;
        msg[7] = 2; // two answers
                    // CNAME: name = pointer to the question (offset 12), rdata = "privatelink" + pointer to
                    // "guestconfiguration..." inside the question.
        let suffix_at = 12 + 1 + "agentserviceapi".len();
        msg.extend_from_slice(&[0xC0, 12, 0, 5, 0, 1, 0, 0, 0, 60]);
        let mut rdata = vec![11];
        rdata.extend_from_slice(b"privatelink");
        rdata.extend_from_slice(&[0xC0, suffix_at as u8]);
        msg.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        let cname_at = msg.len();
        msg.extend_from_slice(&rdata);
        msg.extend_from_slice(&[
            0xC0,
            cname_at as u8,
            0,
            1,
            0,
            1,
            0,
            0,
            0,
            60,
            0,
            4,
            10,
            1,
            2,
            3,
        ]);
        let answer = decode_answer(7, &msg).unwrap().unwrap();
        assert_eq!(
            answer.addresses,
            vec!["10.1.2.3".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(
            answer.aliases,
            vec!["privatelink.guestconfiguration.azure.com"]
        );

        let mut nx = q.clone();
        nx[2] = 0x81;
        nx[3] = 0x83;
        assert_eq!(decode_answer(7, &nx).unwrap_err(), DnsFailure::NoSuchName);
        let mut tc = q;
        tc[2] = 0x83;
        assert!(decode_answer(7, &tc).unwrap().is_none());
        assert!(decode_answer(8, &nx).is_err());
        assert!(decode_answer(7, &[0, 7, 0x81]).is_err());
    }
}
