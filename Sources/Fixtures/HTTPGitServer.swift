import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `git http-backend` behind a small HTTP server on 127.0.0.1 (python3's `http.server`) that
/// requires basic authentication as `username`/`password`, serving the repositories under
/// `root`, for the life of the value.
public final class HTTPGitServer {
    /// `http://127.0.0.1:PORT/`: append a repository's path under the root.
    public let url: String
    private let process: ChildProcess
    private let script: String

    /// Whether python3 and `git http-backend` are installed.
    public static var isAvailable: Bool {
        ["/usr/bin/python3", "/usr/lib/git-core/git-http-backend"].allSatisfy(FileManager.default.isExecutableFile)
    }

    public init(serving root: String, username: String, password: String) throws {
        let script = FileManager.default.temporaryDirectory.path + "/autoresearch-http-\(UUID().uuidString).py"
        try Self.server.write(toFile: script, atomically: true, encoding: .utf8)
        let process = try ChildProcess("/usr/bin/python3", [script, root, username, password], in: root)
        var port = ""
        guard waitUntil(seconds: 10, {
            port = process.currentOutput().trimmingCharacters(in: .whitespacesAndNewlines)
            return !port.isEmpty || !processExists(process.pid)
        }), !port.isEmpty else {
            kill(process.pid, SIGKILL)
            throw OracleError(description: "the HTTP server did not start: \(process.output().stderr)")
        }
        url = "http://127.0.0.1:\(port)/"
        self.process = process
        self.script = script
    }

    deinit {
        kill(process.pid, SIGTERM)
        _ = process.wait()
        unlink(script)
    }

    /// Basic authentication, then the request as CGI to `git http-backend` (chunked bodies
    /// decoded, as libgit2 sends pushes); one request per connection.
    private static let server = #"""
    import base64, http.server, os, subprocess, sys
    root, user, password = sys.argv[1:4]
    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def body(self):
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                data = b""
                while True:
                    size = int(self.rfile.readline().strip().split(b";")[0], 16)
                    if size == 0:
                        self.rfile.readline()
                        return data
                    data += self.rfile.read(size)
                    self.rfile.readline()
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def serve(self):
            if self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="git"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = self.body()
            path, _, query = self.path.partition("?")
            env = dict(os.environ, GIT_PROJECT_ROOT=root, GIT_HTTP_EXPORT_ALL="1", REMOTE_USER=user,
                       REQUEST_METHOD=self.command, PATH_INFO=path, QUERY_STRING=query,
                       CONTENT_TYPE=self.headers.get("Content-Type", ""), CONTENT_LENGTH=str(len(body)),
                       HTTP_CONTENT_ENCODING=self.headers.get("Content-Encoding", ""),
                       GIT_PROTOCOL=self.headers.get("Git-Protocol", ""))
            out = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True).stdout
            head, _, payload = out.partition(b"\r\n\r\n")
            status = 200
            headers = []
            for line in head.decode().split("\r\n"):
                name, _, value = line.partition(": ")
                if name.lower() == "status":
                    status = int(value.split()[0])
                elif name:
                    headers.append((name, value))
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = serve
        def log_message(self, *args): pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()
    """#
}
