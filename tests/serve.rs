//! `akapit serve` really started, on the seeds indexed with the real model: the JSON API
//! against the command line's answers, errors and limits, the gate (Host, Origin, token),
//! a generation published by another process served without a restart, `--watch`, and a
//! graceful stop on SIGTERM. Then the independent clients: the official MCP Python SDK over
//! stdio and streamable HTTP, and the search page in Debian's chromium (playwright-core),
//! both set up by `tests/clients/setup.sh` under target/.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::project::Project;
use serde_json::Value;

const QUESTION: &str = "Ile wspólnych działań przewiduje pięcioletni plan współpracy wojskowej?";
const ANSWER: &str = "160 wspólnych działań";
/// A document whose text is markup; it must reach every client as text.
const HOSTILE: &str = "Wrogi dokument do testów strony.\n\nTen wrogi dokument zawiera znaczniki \
<script>window.pwned = 1; alert(\"pwned\")</script> oraz obrazek <img src=x onerror=\"window.pwned = 1; alert(1)\"> \
w zwykłym tekście akapitu.\n";

/// The seeds and the hostile document, indexed.
fn indexed_project() -> Project {
    let project = Project::new();
    std::fs::write(project.path().join("seeds/wrogi.txt"), HOSTILE).unwrap();
    let out = project.run(&["index", "--quiet"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    project
}

/// A running `akapit serve`; killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(project: &Project, args: &[&str]) -> Server {
        let mut all = vec!["serve", "--port", "0"];
        all.extend_from_slice(args);
        let mut child = project
            .command(&all)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("akapit serve starts");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (found, address) = mpsc::channel();
        let lines = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("serving http://").nth(1) {
                    let _ = found.send(rest.split('/').next().unwrap_or("").to_string());
                }
                lines.lock().unwrap().push(line);
            }
        });
        let addr = address
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("no address on stderr: {:?}", log.lock().unwrap()));
        Server {
            child,
            addr: addr.parse().unwrap(),
            log,
        }
    }

    fn host(&self) -> String {
        self.addr.to_string()
    }

    /// One HTTP/1.1 request; the status and the body as JSON (`Value::Null` if it is not).
    fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, Value) {
        let (status, body) = self.raw(method, path, headers, body);
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, Vec<u8>) {
        let mut stream = TcpStream::connect(self.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let mut head = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
            head.push_str(&format!("Host: {}\r\n", self.host()));
        }
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if !body.is_empty() || method == "POST" {
            head.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).unwrap();
        let _ = stream.write_all(body);
        read_response(stream)
    }

    /// The response to a GET, as lower-case text (for its headers).
    fn head(&self, path: &str) -> String {
        let mut stream = TcpStream::connect(self.addr).unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.host()
        )
        .unwrap();
        let mut text = String::new();
        stream.read_to_string(&mut text).unwrap();
        text.to_ascii_lowercase()
    }

    fn get(&self, path: &str) -> (u16, Value) {
        self.request("GET", path, &[], b"")
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_response(mut stream: TcpStream) -> (u16, Vec<u8>) {
    let mut bytes = Vec::new();
    let _ = stream.read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {text:?}"));
    let at = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(bytes.len(), |i| i + 4);
    let head = text[..at.min(text.len())].to_ascii_lowercase();
    let mut body = bytes[at..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        body = unchunk(&body);
    }
    (status, body)
}

fn unchunk(mut bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = bytes.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(std::str::from_utf8(&bytes[..end]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            break;
        }
        out.extend_from_slice(&bytes[end + 2..end + 2 + size]);
        bytes = &bytes[end + 4 + size..];
    }
    out
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < timeout,
            "{what} did not happen within {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_api_answers_as_the_command_line_does() {
    let project = indexed_project();
    let server = Server::start(&project, &[]);
    let (status, found) = server.get(&format!("/api/search?q={}&k=5", encode(QUESTION)));
    assert_eq!(status, 200, "{found}");
    let cli = project.json(&["ask", QUESTION, "-k", "5", "--json"]);
    assert_eq!(found, cli, "the API's search is the CLI's ask --json");
    assert!(found["results"][0]["text"]
        .as_str()
        .unwrap()
        .contains(ANSWER));

    // POST with a JSON body, `in` as a list, and every mode.
    for mode in ["dense", "lexical", "hybrid"] {
        let body = serde_json::json!({"q": QUESTION, "k": 3, "mode": mode, "in": ["seeds/001*"]});
        let (status, posted) =
            server.request("POST", "/api/search", &[], body.to_string().as_bytes());
        assert_eq!(status, 200, "{posted}");
        assert_eq!(posted["mode"], mode);
        let docs: Vec<&str> = posted["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["doc"].as_str().unwrap())
            .collect();
        assert!(
            !docs.is_empty() && docs.iter().all(|d| d.starts_with("seeds/001")),
            "{docs:?}"
        );
    }

    let first = &found["results"][0];
    let (doc, paragraph) = (
        first["doc"].as_str().unwrap(),
        first["paragraph"].as_u64().unwrap(),
    );
    let (status, shown) = server.get(&format!(
        "/api/show?doc={}&paragraph={paragraph}&context=1",
        encode(doc)
    ));
    assert_eq!(status, 200, "{shown}");
    let cli_show = project.json(&[
        "show",
        doc,
        "--paragraph",
        &paragraph.to_string(),
        "--context",
        "1",
        "--json",
    ]);
    assert_eq!(shown, cli_show);

    let (status, related) = server.get(&format!(
        "/api/related?doc={}&paragraph={paragraph}&k=4",
        encode(doc)
    ));
    assert_eq!(status, 200, "{related}");
    let cli_related = project.json(&[
        "related",
        "--doc",
        doc,
        "--paragraph",
        &paragraph.to_string(),
        "-k",
        "4",
        "--json",
    ]);
    assert_eq!(related, cli_related);
    let text = serde_json::json!({"text": first["text"], "k": 2});
    let (status, by_text) =
        server.request("POST", "/api/related", &[], text.to_string().as_bytes());
    assert_eq!(status, 200, "{by_text}");
    assert!(by_text["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["doc"] != first["doc"]));

    let (status, health) = server.get("/api/status");
    assert_eq!(status, 200, "{health}");
    assert_eq!(health["documents"].as_array().unwrap().len(), 6);
    assert_eq!(health["damage"], Value::Null);

    let head = server.head("/api/status");
    assert!(
        head.contains("x-akapit-json: 1\r\n") && head.contains("x-akapit-generation: gen-"),
        "{head}"
    );
    let head = server.head("/");
    assert!(
        head.contains("content-security-policy: default-src 'none'; script-src 'self'"),
        "{head}"
    );

    // The page and its parts, with a policy that runs only the page's own script.
    let (status, page) = server.raw("GET", "/", &[], b"");
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&page).contains("<title>akapit</title>"));
    let (status, _) = server.raw("GET", "/page.js", &[], b"");
    assert_eq!(status, 200);
}

#[test]
fn bad_requests_get_json_errors_and_the_server_keeps_answering() {
    let project = indexed_project();
    let server = Server::start(&project, &[]);
    let long = "słowo ".repeat(400);
    let cases: Vec<(&str, String, u16, &str)> = vec![
        ("GET", "/api/search".into(), 400, "q is missing"),
        (
            "GET",
            "/api/search?q=%20%20".into(),
            400,
            "the question is empty",
        ),
        (
            "GET",
            "/api/search?q=x&k=0".into(),
            400,
            "k must be a number from 1 to 100",
        ),
        (
            "GET",
            "/api/search?q=x&k=101".into(),
            400,
            "k must be a number from 1 to 100",
        ),
        (
            "GET",
            "/api/search?q=x&mode=fast".into(),
            400,
            "mode must be dense, lexical or hybrid",
        ),
        (
            "GET",
            "/api/search?q=x&min_score=abc".into(),
            400,
            "min_score must be a number",
        ),
        (
            "GET",
            "/api/search?q=x&q=y".into(),
            400,
            "q is given more than once",
        ),
        (
            "GET",
            "/api/search?q=x&limit=3".into(),
            400,
            "unknown parameter \"limit\"",
        ),
        (
            "GET",
            format!("/api/search?q={}", encode(&long)),
            400,
            "the limit is 2000",
        ),
        (
            "GET",
            "/api/search?q=x&in=nowhere/*".into(),
            404,
            "in nowhere/* matches none of the 6 indexed documents",
        ),
        (
            "GET",
            "/api/related".into(),
            400,
            "the text is empty; give text with some words, or doc and paragraph",
        ),
        (
            "GET",
            "/api/related?doc=seeds/wrogi.txt".into(),
            400,
            "doc needs paragraph",
        ),
        (
            "GET",
            "/api/related?doc=seeds/wrogi.txt&paragraph=99".into(),
            404,
            "has no paragraph 99",
        ),
        ("GET", "/api/show".into(), 400, "doc is missing"),
        (
            "GET",
            "/api/show?doc=seeds/wrogi.txt&paragraph=1&page=1".into(),
            400,
            "not both",
        ),
        (
            "GET",
            "/api/show?doc=seeds/wrogi.txt&context=3".into(),
            400,
            "context needs paragraph",
        ),
        (
            "POST",
            "/api/search?q=x".into(),
            400,
            "JSON body, not in the query string",
        ),
        ("GET", "/api/nothing".into(), 404, "is not served"),
        ("DELETE", "/api/search".into(), 405, ""),
    ];
    for (method, path, status, message) in &cases {
        let (got, body) = server.request(method, path, &[], b"");
        assert_eq!(got, *status, "{method} {path}: {body}");
        if !message.is_empty() {
            let error = body["error"]
                .as_str()
                .unwrap_or_else(|| panic!("{path}: {body}"));
            assert!(
                error.contains(message),
                "{path}: {error:?} lacks {message:?}"
            );
            assert_eq!(body["status"], *status);
        }
    }
    // The CLI says the same.
    let out = project.run(&["show", "seeds/wrogi.txt", "--paragraph", "99"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("seeds/wrogi.txt has no paragraph 99"));

    // Bodies: malformed JSON, not an object, a value of the wrong type, 10 MB.
    for (body, message) in [
        (&b"{\"q\": "[..], "not valid JSON"),
        (&b"[1, 2]"[..], "must be a JSON object"),
        (
            &b"{\"q\": {\"nested\": 1}}"[..],
            "must be a string or a number",
        ),
    ] {
        let (status, answer) = server.request("POST", "/api/search", &[], body);
        assert_eq!(status, 400, "{answer}");
        assert!(
            answer["error"].as_str().unwrap().contains(message),
            "{answer}"
        );
    }
    let big = vec![b' '; 10 << 20];
    for path in ["/api/related", "/mcp"] {
        let (status, answer) = server.request("POST", path, &[], &big);
        assert_eq!(status, 413, "{path}: {answer}");
    }

    // Paths outside the index, however spelt: none reads a file.
    std::os::unix::fs::symlink("/etc/passwd", project.path().join("seeds/passwd")).unwrap();
    for doc in [
        "../../../../etc/passwd",
        "/etc/passwd",
        "..%2F..%2Fetc%2Fpasswd",
        "%2Fetc%2Fpasswd",
        "seeds/passwd",
        "seeds%2F..%2F..%2Fetc%2Fpasswd",
    ] {
        let (status, answer) = server.get(&format!("/api/show?doc={doc}"));
        assert_eq!(status, 404, "{doc}: {answer}");
        assert!(!answer.to_string().contains("root:"), "{doc}: {answer}");
    }
    for path in [
        "/../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/seeds/wrogi.txt",
        "/index/manifest.json",
        "//etc/passwd",
    ] {
        let (status, body) = server.raw("GET", path, &[], b"");
        assert!(status == 404 || status == 400, "{path}: {status}");
        assert!(!String::from_utf8_lossy(&body).contains("root:"), "{path}");
    }

    // Garbage to MCP, a client that leaves mid-request, one that sends half a request.
    for garbage in [
        &b"not json"[..],
        b"{\"jsonrpc\": \"2.0\", \"method\": 7}",
        b"[]",
    ] {
        let (status, _) = server.raw(
            "POST",
            "/mcp",
            &[("Accept", "application/json, text/event-stream")],
            garbage,
        );
        assert!((400..500).contains(&status), "MCP garbage got {status}");
    }
    let mut gone = TcpStream::connect(server.addr).unwrap();
    write!(
        gone,
        "GET /api/search?q={} HTTP/1.1\r\nHost: {}\r\n\r\n",
        encode(QUESTION),
        server.host()
    )
    .unwrap();
    drop(gone);
    let mut slow = TcpStream::connect(server.addr).unwrap();
    write!(
        slow,
        "POST /api/search HTTP/1.1\r\nHost: {}\r\nContent-Length: 100\r\n\r\n{{\"q\":",
        server.host()
    )
    .unwrap();
    let (status, _) = server.get("/api/search?q=Zapad&k=1");
    assert_eq!(
        status,
        200,
        "answers while another client is slow: {}",
        server.log()
    );
    drop(slow);
}

#[test]
fn host_origin_and_token_are_checked() {
    let project = indexed_project();
    let server = Server::start(&project, &[]);
    let search = "/api/search?q=Zapad&k=1";
    for (headers, status) in [
        (vec![("Host", "evil.example:8765")], 403),
        (vec![("Host", "localhost.evil.example")], 403),
        (vec![("Origin", "http://evil.example")], 403),
        (vec![("Origin", "null")], 403),
        (vec![("Host", "localhost:1")], 200),
    ] {
        let (got, body) = server.request("GET", search, &headers, b"");
        assert_eq!(got, status, "{headers:?}: {body}");
    }
    let own = format!("http://{}", server.host());
    assert_eq!(
        server.request("GET", search, &[("Origin", &own)], b"").0,
        200
    );
    let (status, body) = server.request("POST", "/mcp", &[("Host", "evil.example")], b"{}");
    assert_eq!(status, 403, "MCP checks Host too: {body}");

    // Anything but loopback needs a token.
    let out = project.run(&["serve", "--host", "0.0.0.0", "--port", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("give --token"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let guarded = Server::start(&project, &["--host", "0.0.0.0", "--token", "correct-horse"]);
    let (status, body) = guarded.get(search);
    assert_eq!(status, 401, "{body}");
    assert!(body["error"]
        .as_str()
        .unwrap()
        .contains("Authorization: Bearer"));
    assert_eq!(
        guarded
            .request("GET", search, &[("Authorization", "Bearer wrong")], b"")
            .0,
        401
    );
    assert_eq!(
        guarded
            .request(
                "GET",
                search,
                &[("Authorization", "Bearer correct-horse")],
                b""
            )
            .0,
        200
    );
    assert_eq!(
        guarded.raw("GET", "/", &[], b"").0,
        200,
        "the page itself asks for the token"
    );
}

#[test]
fn a_generation_published_by_another_process_is_served_without_a_restart() {
    let project = Project::new();
    let server = Server::start(&project, &[]);
    let (status, body) = server.get("/api/search?q=Zapad");
    assert_eq!(status, 503, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("there is no index"),
        "{body}"
    );
    let out = project.run(&["index", "--quiet"]);
    assert_eq!(out.status.code(), Some(0));
    wait_for(
        "the first generation is served",
        Duration::from_secs(30),
        || server.get("/api/search?q=Zapad&k=1").0 == 200,
    );
    let (_, before) = server.get("/api/status");
    std::fs::write(
        project.path().join("seeds/nowy.txt"),
        "Nowy dokument o żubrach w Puszczy Białowieskiej.\n",
    )
    .unwrap();
    let out = project.run(&["index", "--quiet"]);
    assert_eq!(out.status.code(), Some(0));
    wait_for("the new document is found", Duration::from_secs(30), || {
        let (_, found) = server.get("/api/search?q=%C5%BCubry&k=1&mode=lexical");
        found["results"][0]["doc"] == "seeds/nowy.txt"
    });
    let (_, after) = server.get("/api/status");
    assert_ne!(before["built_at"], Value::Null);
    assert_eq!(after["documents"].as_array().unwrap().len(), 6);
    assert!(
        server.log().contains("now answering from gen-"),
        "{}",
        server.log()
    );
}

#[test]
fn sigterm_finishes_the_request_in_flight_then_exits_0() {
    let project = indexed_project();
    let mut server = Server::start(&project, &[]);
    let body = serde_json::json!({"q": QUESTION, "k": 3}).to_string();
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(
        stream,
        "POST /api/search HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        server.host(),
        body.len()
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let killed = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    std::thread::sleep(Duration::from_millis(300));
    stream.write_all(body.as_bytes()).unwrap();
    let (status, answer) = read_response(stream);
    assert_eq!(
        status,
        200,
        "the request in flight is answered: {}",
        String::from_utf8_lossy(&answer)
    );
    let exit = server.child.wait().unwrap();
    assert_eq!(exit.code(), Some(0), "{}", server.log());
    assert!(
        TcpStream::connect(server.addr).is_err(),
        "no longer listening"
    );
}

#[test]
fn watch_indexes_a_file_once_it_is_written_whole() {
    let project = indexed_project();
    let server = Server::start(
        &project,
        &["--watch", "--watch-every", "0.3", "--settle", "1"],
    );
    let path = project.path().join("seeds/pisany.txt");
    let mut file = std::fs::File::create(&path).unwrap();
    // Written in two parts: the watcher sees the first, and must wait for the second.
    file.write_all("Pierwsza połowa: bobry budują tamy na rzece Narew.\n".as_bytes())
        .unwrap();
    file.flush().unwrap();
    std::thread::sleep(Duration::from_millis(700));
    file.write_all("\nDruga połowa: tamy bobrów zatrzymują wodę w dolinie.\n".as_bytes())
        .unwrap();
    drop(file);
    wait_for(
        "the new file is searchable",
        Duration::from_secs(60),
        || {
            let (_, found) = server.get("/api/search?q=bobry&k=1&mode=lexical");
            found["results"][0]["doc"] == "seeds/pisany.txt"
        },
    );
    let (_, shown) = server.get("/api/show?doc=seeds/pisany.txt");
    let text: Vec<&str> = shown["passages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["text"].as_str().unwrap())
        .collect();
    assert!(
        text.join(" ").contains("Druga połowa"),
        "indexed whole, not half-written: {text:?}\n{}",
        server.log()
    );
    std::fs::remove_file(&path).unwrap();
    wait_for("the removed file is gone", Duration::from_secs(60), || {
        let (_, found) = server.get("/api/search?q=bobry&k=1&mode=lexical");
        found["results"]
            .as_array()
            .is_some_and(|r| r.iter().all(|r| r["doc"] != "seeds/pisany.txt"))
    });
    assert!(server.log().contains("re-indexing"), "{}", server.log());
}

#[test]
fn watch_without_a_server_keeps_the_index_up_to_date() {
    let project = indexed_project();
    let mut watcher = project
        .command(&["watch", "--watch-every", "0.3", "--settle", "0.5"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let documents = || {
        project.json(&["status", "--json"])["documents"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(documents(), 6);
    std::fs::write(
        project.path().join("seeds/nowy.txt"),
        "Nowy dokument o żubrach.\n",
    )
    .unwrap();
    wait_for("the new file is indexed", Duration::from_secs(60), || {
        documents() == 7
    });
    std::fs::remove_file(project.path().join("seeds/wrogi.txt")).unwrap();
    wait_for(
        "the deleted file is dropped",
        Duration::from_secs(60),
        || documents() == 6,
    );
    let stale = project.json(&["status", "--json"])["stale"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(stale, 0, "nothing left to index");
    let interrupted = Command::new("kill")
        .args(["-INT", &watcher.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let mut said = String::new();
    watcher
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut said)
        .unwrap();
    let code = watcher.wait().unwrap().code();
    assert_eq!(code, Some(0), "Ctrl-C stops watching with 0: {said}");
    assert!(said.contains("stopped watching"), "{said}");
    assert!(said.contains("seeds/nowy.txt (new); re-indexing"), "{said}");
    assert!(
        said.contains("seeds/wrogi.txt (missing); re-indexing"),
        "{said}"
    );
}

/// The clients, from `tests/clients/setup.sh`: python, node, node's folder, chromium.
fn clients() -> [String; 4] {
    let root = common::repo_root();
    let out = Command::new("bash")
        .arg(root.join("tests/clients/setup.sh"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the client tests need Python 3 with venv and pip, and Debian's chromium: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines.try_into().expect("four lines from setup.sh")
}

#[test]
fn official_mcp_client_and_a_real_browser() {
    let [python, node, node_dir, chromium] = clients();
    let root = common::repo_root();
    let project = indexed_project();
    let server = Server::start(&project, &[]);
    let akapit = env!("CARGO_BIN_EXE_akapit");
    let mcp = Command::new(&python)
        .arg(root.join("tests/clients/mcp_client.py"))
        .args(["--akapit", akapit, "--project"])
        .arg(project.path())
        .args(["--url", &format!("http://{}/mcp", server.host())])
        .env("AKAPIT_MODEL_DIR", common::default_model_dir())
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&mcp.stdout),
        String::from_utf8_lossy(&mcp.stderr)
    );
    println!("{said}");
    assert!(mcp.status.success(), "{said}\nserver: {}", server.log());
    assert!(said.contains("every check passed on both transports"));

    let script = std::path::Path::new(&node_dir).join("page_test.mjs");
    std::fs::copy(root.join("tests/clients/page_test.mjs"), &script).unwrap();
    let screenshot = std::path::Path::new(&node_dir).join("serve-page.png");
    let page = Command::new(&node)
        .arg(&script)
        .arg(format!("http://{}/", server.host()))
        .arg(&screenshot)
        .arg(&chromium)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&page.stdout),
        String::from_utf8_lossy(&page.stderr)
    );
    println!("{said}");
    assert!(page.status.success(), "{said}\nserver: {}", server.log());
    assert!(
        std::fs::metadata(&screenshot).unwrap().len() > 10_000,
        "a screenshot was saved"
    );
    println!("screenshot: {}", screenshot.display());
}
