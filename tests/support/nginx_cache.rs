//! A real HTTP remote cache for tests: Debian's nginx with WebDAV `PUT`, on a
//! loopback port, with a configuration and every path of its own in a temporary
//! folder (no root needed, the system service untouched). Stopped when dropped.

#![allow(dead_code)] // Each test binary uses a different part of it.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The URL prefix the cache lives under (as a team's cache would, beside others).
pub const PREFIX: &str = "flowc-cache";

pub struct NginxCache {
    child: Child,
    pub directory: PathBuf,
    pub port: u16,
}

fn nginx_binary() -> PathBuf {
    for candidate in ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"] {
        if Path::new(candidate).exists() {
            return PathBuf::from(candidate);
        }
    }
    panic!("nginx is not installed: run ./scripts/setup.sh (it installs Debian's nginx-light, which has the WebDAV module)");
}

impl NginxCache {
    pub fn start(name: &str) -> NginxCache {
        let binary = nginx_binary();
        let directory = std::env::temp_dir().join(format!("flowc-nginx-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&directory);
        std::fs::create_dir_all(directory.join("store").join(PREFIX)).unwrap();
        std::fs::create_dir_all(directory.join("temp")).unwrap();
        // A free port: bound and released; nginx takes it a moment later.
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let folder = directory.display();
        let configuration = format!(
            r#"daemon off;
master_process off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 64; }}
http {{
  access_log {folder}/access.log;
  client_body_temp_path {folder}/temp/body;
  proxy_temp_path {folder}/temp/proxy;
  fastcgi_temp_path {folder}/temp/fastcgi;
  uwsgi_temp_path {folder}/temp/uwsgi;
  scgi_temp_path {folder}/temp/scgi;
  server {{
    listen 127.0.0.1:{port};
    root {folder}/store;
    client_max_body_size 64m;
    location /{PREFIX}/ {{
      dav_methods PUT;
      create_full_put_path on;
      dav_access user:rw group:r all:r;
      log_not_found off;
    }}
  }}
}}
"#
        );
        std::fs::write(directory.join("nginx.conf"), configuration).unwrap();
        let child = Command::new(&binary)
            .arg("-p")
            .arg(&directory)
            .arg("-c")
            .arg(directory.join("nginx.conf"))
            .arg("-e")
            .arg(directory.join("error.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("nginx starts");
        let mut cache = NginxCache { child, directory, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = cache.child.try_wait().unwrap() {
                panic!("nginx exited ({status}): {}", std::fs::read_to_string(cache.directory.join("error.log")).unwrap_or_default());
            }
            assert!(Instant::now() < deadline, "nginx did not listen on port {port} within 10 s");
            std::thread::sleep(Duration::from_millis(20));
        }
        cache
    }

    /// What `--remote-cache` takes.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/{PREFIX}", self.port)
    }

    /// Every file the server stores, by path under its root.
    pub fn stored_files(&self) -> Vec<PathBuf> {
        files_under(&self.directory.join("store"))
    }
}

impl Drop for NginxCache {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.directory);
    }
}

/// Every file below `folder`, recursively.
pub fn files_under(folder: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![folder.to_path_buf()];
    while let Some(next) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&next) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}
