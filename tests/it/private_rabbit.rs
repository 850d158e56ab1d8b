//! A RabbitMQ node of a test's own (its own Erlang node name, ports and data directory), so that
//! a test can stop and restart the broker without disturbing the tests sharing the machine's node.
//! Started with the distribution's `rabbitmq-server` script run as the caller, as
//! `scripts/services.sh` does when no RabbitMQ runs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::helpers::Management;

pub struct PrivateRabbit {
    node: String,
    dir: PathBuf,
    scripts: PathBuf,
    pub amqp_port: u16,
    pub management_port: u16,
    dist_port: u16,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Where the real RabbitMQ scripts live (the distribution's wrappers `su` to the rabbitmq user).
fn scripts_dir() -> PathBuf {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin"])
        .map(|dir| Path::new(dir).join("rabbitmq-server"))
        .find(|candidate| candidate.exists())
        .expect("rabbitmq-server is not installed (scripts/test.sh installs it)");
    std::fs::canonicalize(found)
        .expect("resolve rabbitmq-server")
        .parent()
        .expect("its directory")
        .to_path_buf()
}

impl PrivateRabbit {
    /// Starts the node and waits until its management API answers.
    pub async fn start() -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let dir = std::env::temp_dir().join(format!("oms-test-rabbit-{id}"));
        for sub in ["mnesia", "log"] {
            std::fs::create_dir_all(dir.join(sub)).expect("node directory");
        }
        let rabbit = Self {
            node: format!("oms-test-{}@localhost", &id[..12]),
            scripts: scripts_dir(),
            amqp_port: free_port(),
            management_port: free_port(),
            dist_port: free_port(),
            dir,
        };
        // The AMQP listener comes from RABBITMQ_NODE_PORT alone: also naming it in the config file
        // makes the node try to open it twice when its application restarts.
        std::fs::write(
            rabbit.dir.join("rabbitmq.conf"),
            format!(
                "management.tcp.ip = 127.0.0.1\nmanagement.tcp.port = {}\n",
                rabbit.management_port
            ),
        )
        .expect("config");
        std::fs::write(rabbit.dir.join("enabled_plugins"), "[rabbitmq_management].\n").expect("plugins");
        std::fs::write(rabbit.dir.join("rabbitmq-env.conf"), "").expect("env file");
        rabbit.boot().await;
        rabbit
    }

    fn command(&self, tool: &str) -> Command {
        let mut command = Command::new(self.scripts.join(tool));
        let dir = &self.dir;
        command
            .env("HOME", dir)
            .env("RABBITMQ_NODENAME", &self.node)
            .env("RABBITMQ_CONF_ENV_FILE", dir.join("rabbitmq-env.conf"))
            .env("RABBITMQ_CONFIG_FILE", dir.join("rabbitmq.conf"))
            .env("RABBITMQ_ADVANCED_CONFIG_FILE", dir.join("advanced.config"))
            .env("RABBITMQ_ENABLED_PLUGINS_FILE", dir.join("enabled_plugins"))
            .env("RABBITMQ_MNESIA_BASE", dir.join("mnesia"))
            .env("RABBITMQ_LOG_BASE", dir.join("log"))
            .env("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1")
            .env("RABBITMQ_NODE_PORT", self.amqp_port.to_string())
            .env("RABBITMQ_DIST_PORT", self.dist_port.to_string())
            .env("ERL_EPMD_ADDRESS", "127.0.0.1")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        command
    }

    /// Starts the Erlang node (detached) and waits for its management API.
    async fn boot(&self) {
        let status = self
            .command("rabbitmq-server")
            .arg("-detached")
            .status()
            .expect("run rabbitmq-server");
        assert!(status.success(), "rabbitmq-server -detached: {status}");
        let management = self.management();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        while !management.is_up().await {
            assert!(
                tokio::time::Instant::now() < deadline,
                "private RabbitMQ node never came up; see {}",
                self.dir.join("log").display()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Stops the whole node (the Erlang VM exits; its data stays on disk).
    pub async fn stop(&self) {
        let mut command = self.command("rabbitmqctl");
        command.args(["-n", &self.node, "stop"]);
        let status = tokio::task::spawn_blocking(move || command.status())
            .await
            .expect("join")
            .expect("run rabbitmqctl");
        assert!(status.success(), "rabbitmqctl stop: {status}");
    }

    /// Starts the node again on the same data directory (durable queues and their messages survive).
    pub async fn start_again(&self) {
        self.boot().await;
    }

    pub fn amqp_base(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}", self.amqp_port)
    }

    pub fn management(&self) -> Management {
        Management::new(&format!("http://guest:guest@127.0.0.1:{}", self.management_port))
    }
}

impl Drop for PrivateRabbit {
    fn drop(&mut self) {
        let _ = self
            .command("rabbitmqctl")
            .args(["-n", &self.node, "stop"])
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
