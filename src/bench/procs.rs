//! What the processes of the system under test cost, read from `/proc` on this machine: CPU time
//! of `oms up|api|worker`, the RabbitMQ node(s), the store and the bench client itself over a
//! window, and the peak resident memory of the `oms` processes. Empty when the system runs
//! elsewhere.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use serde::Serialize;

/// A process of the system, as `/proc` shows it.
struct Proc {
    pid: u32,
    /// `oms up`, `rabbitmq`, `store`, `bench`.
    role: String,
}

fn cmdline(pid: &Path) -> Vec<String> {
    std::fs::read(pid.join("cmdline"))
        .unwrap_or_default()
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

fn file_name(arg: &str) -> String {
    Path::new(arg)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The processes that make up the system: `oms` serving processes, every RabbitMQ node, the
/// store listening on `store_port`, and this process.
fn system(store_port: Option<u16>) -> Vec<Proc> {
    let me = std::process::id();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let args = cmdline(&entry.path());
        let Some(program) = args.first().map(|a| file_name(a)) else {
            continue;
        };
        let role = if pid == me {
            "bench".to_string()
        } else if program.starts_with("oms")
            && matches!(args.get(1).map(String::as_str), Some("up" | "api" | "worker"))
        {
            format!("oms {}", args[1..].join(" "))
        } else if program == "beam.smp" && args.iter().any(|a| a.contains("rabbit")) {
            "rabbitmq".to_string()
        } else if program.starts_with("secantusd") || program == "mongod" {
            let port = args
                .iter()
                .position(|a| a == "--port")
                .and_then(|i| args.get(i + 1))
                .and_then(|p| p.parse::<u16>().ok())
                .unwrap_or(27017);
            if store_port.is_some_and(|p| p != port) {
                continue;
            }
            "store".to_string()
        } else {
            continue;
        };
        found.push(Proc { pid, role });
    }
    found
}

/// Clock ticks (user + system) a process has used.
fn ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields count from the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

fn ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .unwrap_or(100.0)
}

/// CPU time of the system's processes since [`CpuWindow::start`].
pub struct CpuWindow {
    started: Instant,
    before: Vec<(u32, String, u64)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CpuUse {
    /// Cores busy on average over the window.
    pub cores: f64,
    /// Milliseconds of CPU per decided order.
    pub ms_per_order: f64,
}

impl CpuWindow {
    pub fn start(store_port: Option<u16>) -> Self {
        let before = system(store_port)
            .into_iter()
            .filter_map(|p| ticks(p.pid).map(|t| (p.pid, p.role, t)))
            .collect();
        Self {
            started: Instant::now(),
            before,
        }
    }

    /// Per role (and `total` for the system without the bench client), over `orders` decided.
    pub fn finish(self, orders: usize) -> BTreeMap<String, CpuUse> {
        let seconds = self.started.elapsed().as_secs_f64().max(1e-9);
        let hz = ticks_per_second();
        let mut used: BTreeMap<String, f64> = BTreeMap::new();
        for (pid, role, before) in self.before {
            if let Some(after) = ticks(pid) {
                *used.entry(role).or_default() += after.saturating_sub(before) as f64 / hz;
            }
        }
        let system: f64 = used
            .iter()
            .filter(|(role, _)| *role != "bench")
            .map(|(_, s)| s)
            .sum();
        if !used.is_empty() {
            used.insert("total (without bench)".to_string(), system);
        }
        used.into_iter()
            .map(|(role, cpu_seconds)| {
                (
                    role,
                    CpuUse {
                        cores: round(cpu_seconds / seconds, 100.0),
                        ms_per_order: round(cpu_seconds * 1000.0 / orders.max(1) as f64, 100.0),
                    },
                )
            })
            .collect()
    }
}

fn round(value: f64, scale: f64) -> f64 {
    (value * scale).round() / scale
}

/// Peak resident memory (VmHWM, KiB) of every `oms up|api|worker` process this user can see.
pub fn peak_rss() -> Vec<(String, u64)> {
    system(None)
        .into_iter()
        .filter(|p| p.role.starts_with("oms "))
        .filter_map(|p| {
            let status = std::fs::read_to_string(format!("/proc/{}/status", p.pid)).ok()?;
            let kib = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())?;
            Some((p.role.trim_start_matches("oms ").to_string(), kib))
        })
        .collect()
}

/// The port of the store in a MongoDB URI (`mongodb://host:port/...`), when it names one.
pub fn store_port(uri: &str) -> Option<u16> {
    oms_platform::urls::ServiceUrl::parse(uri)?.hosts.first()?.port
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_ports_come_from_the_uri() {
        assert_eq!(
            store_port("mongodb://127.0.0.1:27091/?directConnection=true"),
            Some(27091)
        );
        assert_eq!(store_port("mongodb://u:p@db:27018,db2:27019/oms"), Some(27018));
        assert_eq!(store_port("mongodb://localhost/"), None);
    }
}
