//! Event-log export for `logs` through the Windows Event Log API: each matching event newest
//! first, as its XML with the rendered message (the publisher's message table), so support can
//! read it anywhere and the archive's redaction sees plain text.

use super::super::{EventLogQuery, SystemLogs};
use super::wide;
use std::collections::HashMap;
use std::io::{self, Write};
use std::path::Path;
use std::ptr;
use std::time::{Duration, Instant};
use windows_sys::Win32::Foundation::{
    GetLastError, ERROR_INSUFFICIENT_BUFFER, ERROR_NO_MORE_ITEMS, ERROR_TIMEOUT,
};
use windows_sys::Win32::System::EventLog::{
    EvtClose, EvtFormatMessage, EvtFormatMessageXml, EvtNext, EvtOpenPublisherMetadata, EvtQuery,
    EvtQueryChannelPath, EvtQueryReverseDirection, EvtRender, EvtRenderEventXml, EVT_HANDLE,
};

struct EventLogHandle(EVT_HANDLE);

impl Drop for EventLogHandle {
    fn drop(&mut self) {
        if self.0 != 0 {
            // SAFETY: a handle an Evt* function returned, closed once.
            unsafe { EvtClose(self.0) };
        }
    }
}

pub fn system_logs(work: &Path, full: bool, timeout: Duration) -> SystemLogs {
    let deadline = Instant::now() + timeout;
    let limit = super::super::system_log_limit(full);
    let mut logs = SystemLogs {
        component: "eventlog",
        files: Vec::new(),
        failed: Vec::new(),
    };
    for (i, query) in super::super::event_log_queries().into_iter().enumerate() {
        let dest = work.join(format!("eventlog-{i}.xml"));
        match export(&query, &dest, limit, deadline) {
            Ok(_) => logs.files.push((query.name.to_string(), dest)),
            Err(e) => logs.failed.push((
                query.name.to_string(),
                format!("the {} event log could not be queried: {e}", query.channel),
            )),
        }
    }
    logs
}

/// Writes the query's newest `limit` events to `dest`; returns how many.
pub fn export(
    query: &EventLogQuery,
    dest: &Path,
    limit: usize,
    deadline: Instant,
) -> io::Result<usize> {
    let channel = wide(query.channel);
    let xpath = wide(&query.xpath);
    // SAFETY: NUL-terminated wide strings that outlive the call; 0 is the local session.
    let results = EventLogHandle(unsafe {
        EvtQuery(
            0,
            channel.as_ptr(),
            xpath.as_ptr(),
            EvtQueryChannelPath | EvtQueryReverseDirection,
        )
    });
    if results.0 == 0 {
        return Err(io::Error::last_os_error());
    }
    let mut out = Document::begin(
        io::BufWriter::new(super::super::create_private_file(dest)?),
        query,
        limit,
    )?;
    let mut publishers: HashMap<String, EventLogHandle> = HashMap::new();
    let mut buf: Vec<u16> = vec![0; 16 * 1024];
    let mut count = 0usize;
    let mut stopped = None;
    'batches: loop {
        if Instant::now() >= deadline {
            stopped = Some("time");
            break;
        }
        let mut batch = [0 as EVT_HANDLE; 64];
        let mut returned = 0u32;
        // SAFETY: the array holds 64 handles; `returned` says how many were filled.
        let ok = unsafe {
            EvtNext(
                results.0,
                batch.len() as u32,
                batch.as_mut_ptr(),
                1000,
                0,
                &mut returned,
            )
        };
        if ok == 0 {
            // SAFETY: reads the calling thread's last error.
            match unsafe { GetLastError() } {
                ERROR_NO_MORE_ITEMS => break,
                ERROR_TIMEOUT => continue,
                code => return Err(io::Error::from_raw_os_error(code as i32)),
            }
        }
        let events: Vec<EventLogHandle> = batch[..returned as usize]
            .iter()
            .map(|&h| EventLogHandle(h))
            .collect();
        for event in &events {
            if count == limit {
                stopped = Some("count");
                break 'batches;
            }
            let xml = render(event.0, &mut buf)?;
            let text = provider(&xml)
                .and_then(|name| {
                    let metadata = publishers.entry(name.clone()).or_insert_with(|| {
                        let id = wide(&name);
                        // SAFETY: a NUL-terminated provider name; no log file, default locale.
                        EventLogHandle(unsafe {
                            EvtOpenPublisherMetadata(0, id.as_ptr(), ptr::null(), 0, 0)
                        })
                    });
                    (metadata.0 != 0)
                        .then(|| with_message(metadata.0, event.0, &mut buf))
                        .flatten()
                })
                .unwrap_or(xml);
            out.event(&text)?;
            count += 1;
        }
    }
    out.finish(stopped)?
        .into_inner()
        .map_err(|e| e.into_error())?
        .sync_all()?;
    Ok(count)
}

/// The exported file: one `<Events>` element holding each event's XML, newest first.
struct Document<W: Write>(W);

impl<W: Write> Document<W> {
    fn begin(mut out: W, query: &EventLogQuery, limit: usize) -> io::Result<Self> {
        writeln!(out, "<?xml version=\"1.0\" encoding=\"utf-8\"?>")?;
        writeln!(
            out,
            "<Events channel=\"{}\" query=\"{}\" order=\"newest-first\" limit=\"{limit}\">",
            escape(query.channel),
            escape(&query.xpath)
        )?;
        Ok(Self(out))
    }

    fn event(&mut self, xml: &str) -> io::Result<()> {
        self.0.write_all(xml.trim().as_bytes())?;
        self.0.write_all(b"\n")
    }

    /// `stopped`: the bound (time, count) that cut the export short, if any.
    fn finish(mut self, stopped: Option<&str>) -> io::Result<W> {
        if let Some(bound) = stopped {
            writeln!(
                self.0,
                "<!-- stopped at the {bound} bound: older events were left out -->"
            )?;
        }
        writeln!(self.0, "</Events>")?;
        Ok(self.0)
    }
}

/// The event as XML (UTF-16 from the API).
fn render(event: EVT_HANDLE, buf: &mut Vec<u16>) -> io::Result<String> {
    loop {
        let mut used = 0u32;
        let mut properties = 0u32;
        // SAFETY: the buffer's size is given in bytes; the API writes at most that many.
        let ok = unsafe {
            EvtRender(
                0,
                event,
                EvtRenderEventXml,
                (buf.len() * 2) as u32,
                buf.as_mut_ptr().cast(),
                &mut used,
                &mut properties,
            )
        };
        if ok != 0 {
            return Ok(utf16_text(&buf[..(used as usize / 2).min(buf.len())]));
        }
        // SAFETY: reads the calling thread's last error.
        match unsafe { GetLastError() } {
            ERROR_INSUFFICIENT_BUFFER => buf.resize(used as usize / 2 + 1, 0),
            code => return Err(io::Error::from_raw_os_error(code as i32)),
        }
    }
}

/// The event's XML with its rendered message (RenderingInfo), or `None` when the publisher's
/// message table does not have it.
fn with_message(metadata: EVT_HANDLE, event: EVT_HANDLE, buf: &mut Vec<u16>) -> Option<String> {
    loop {
        let mut used = 0u32;
        // SAFETY: the buffer's size is given in characters; no insertion values.
        let ok = unsafe {
            EvtFormatMessage(
                metadata,
                event,
                0,
                0,
                ptr::null(),
                EvtFormatMessageXml,
                buf.len() as u32,
                buf.as_mut_ptr(),
                &mut used,
            )
        };
        if ok != 0 {
            return Some(utf16_text(&buf[..(used as usize).min(buf.len())]));
        }
        // SAFETY: reads the calling thread's last error.
        match unsafe { GetLastError() } {
            ERROR_INSUFFICIENT_BUFFER if used as usize > buf.len() => {
                buf.resize(used as usize + 1, 0)
            }
            _ => return None,
        }
    }
}

fn utf16_text(units: &[u16]) -> String {
    let end = units.iter().position(|&u| u == 0).unwrap_or(units.len());
    String::from_utf16_lossy(&units[..end])
}

/// The provider's name from an event's XML (`<Provider Name='…'`).
fn provider(xml: &str) -> Option<String> {
    let at = xml.find("<Provider ")?;
    let rest = &xml[at..xml[at..].find('>').map_or(xml.len(), |end| at + end)];
    let name = rest.find("Name=")? + "Name=".len();
    let quote = rest[name..]
        .chars()
        .next()
        .filter(|c| *c == '\'' || *c == '"')?;
    let value = &rest[name + 1..];
    let value = &value[..value.find(quote)?];
    Some(
        value
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_provider_is_read_from_the_event_xml() {
        let xml = "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>\
<Provider Name='Service Control Manager' Guid='{555908d1-a6d7-4695-8e1e-26931d2012f4}' \
EventSourceName='Service Control Manager'/><EventID>7036</EventID></System></Event>";
        assert_eq!(provider(xml).as_deref(), Some("Service Control Manager"));
        assert_eq!(
            provider("<Event><System><Provider Name=\"A &amp; B\"/></System></Event>").as_deref(),
            Some("A & B")
        );
        assert_eq!(provider("<Event><System></System></Event>"), None);
        assert_eq!(provider("<Event><Provider Guid='{x}'/></Event>"), None);
    }

    #[test]
    fn the_export_is_one_well_formed_document() {
        let query = EventLogQuery {
            name: "eventlog/test.xml",
            channel: "Application",
            xpath: "*[System[Provider[@Name='a&b' or @Name=\"q\"]]]".into(),
        };
        let mut doc = Document::begin(Vec::new(), &query, 2).unwrap();
        doc.event("<Event><System><EventID>1</EventID></System></Event>\r\n")
            .unwrap();
        doc.event("<Event><System><EventID>2</EventID></System><RenderingInfo Culture='en-US'><Message>x &lt; y</Message></RenderingInfo></Event>")
            .unwrap();
        let bytes = doc.finish(Some("count")).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        let parsed = roxmltree::Document::parse(&text).unwrap();
        let root = parsed.root_element();
        assert_eq!(root.attribute("query"), Some(query.xpath.as_str()));
        assert_eq!(root.attribute("limit"), Some("2"));
        let events: Vec<_> = root
            .children()
            .filter(|n| n.has_tag_name("Event"))
            .collect();
        assert_eq!(events.len(), 2);
        assert!(text.contains("stopped at the count bound"));
        let message = parsed
            .descendants()
            .find(|n| n.has_tag_name("Message"))
            .unwrap();
        assert_eq!(message.text(), Some("x < y"));
    }

    #[test]
    fn the_agent_event_logs_export_or_say_why_not() {
        let work = std::env::temp_dir().join(format!("azcm-evt-{}", std::process::id()));
        std::fs::create_dir_all(&work).unwrap();
        let logs = system_logs(&work, false, Duration::from_secs(30));
        let queries = super::super::super::event_log_queries();
        assert_eq!(logs.files.len() + logs.failed.len(), queries.len());
        for (name, path) in &logs.files {
            let text = std::fs::read_to_string(path).unwrap();
            let doc = roxmltree::Document::parse(&text)
                .unwrap_or_else(|e| panic!("{name}: not well-formed XML: {e}"));
            let root = doc.root_element();
            assert_eq!(root.tag_name().name(), "Events");
            let query = queries.iter().find(|q| q.name == name).unwrap();
            assert_eq!(root.attribute("channel"), Some(query.channel));
            assert_eq!(root.attribute("query"), Some(query.xpath.as_str()));
        }
        for (name, why) in &logs.failed {
            assert!(queries.iter().any(|q| q.name == name), "{name}");
            assert!(why.contains("event log could not be queried"), "{why}");
        }
        let _ = std::fs::remove_dir_all(&work);
    }
}
