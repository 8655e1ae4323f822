// Self-tests of the test support library: ports, processes, temp dirs, the HTTP client.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <csignal>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "support/http_client.hpp"
#include "support/ports.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace llmgw::testing {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

long long ms_since(Clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

long long ms(Clock::duration d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

bool file_exists(const std::string& path) {
    struct stat info;
    return ::stat(path.c_str(), &info) == 0;
}

// A tiny HTTP server for the client tests: one thread running an io_context, accepting
// connections one after another and handing each, synchronously, to `handle`.
class TinyServer {
public:
    using Handler = std::function<void(tcp::socket&)>;

    explicit TinyServer(Handler handle) : handle_(std::move(handle)) {
        acceptor_.open(tcp::v4());
        acceptor_.bind(tcp::endpoint(asio::ip::address_v4::loopback(), 0));
        acceptor_.listen();
        accept_next();
        thread_ = std::thread([this] { io_.run(); });
    }

    ~TinyServer() {
        asio::post(io_, [this] {
            boost::system::error_code ignored;
            acceptor_.close(ignored);
        });
        thread_.join();
    }

    uint16_t port() const { return acceptor_.local_endpoint().port(); }
    int connections() const { return connections_.load(); }

private:
    void accept_next() {
        acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
            if (ec) return;
            ++connections_;
            socket.set_option(tcp::no_delay(true));
            try {
                handle_(socket);
            } catch (const std::exception&) {
                // The client went away early; the test checks what it saw.
            }
            accept_next();
        });
    }

    Handler handle_;
    asio::io_context io_{1};
    tcp::acceptor acceptor_{io_};
    std::atomic<int> connections_{0};
    std::thread thread_;
};

struct ReceivedRequest {
    std::string head;
    std::string body;

    std::string header(const std::string& name) const {
        std::string lowered = head;
        for (char& c : lowered) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        auto at = lowered.find("\r\n" + name + ":");
        if (at == std::string::npos) return "";
        auto start = head.find_first_not_of(' ', at + name.size() + 3);
        return head.substr(start, head.find("\r\n", start) - start);
    }
};

// Reads one request (head and Content-Length body) from `socket`.
ReceivedRequest read_request(tcp::socket& socket) {
    std::string buffer;
    std::size_t head_end = asio::read_until(socket, asio::dynamic_buffer(buffer), "\r\n\r\n");
    ReceivedRequest request{buffer.substr(0, head_end), buffer.substr(head_end)};
    std::string length = request.header("content-length");
    std::size_t wanted = length.empty() ? 0 : std::stoul(length);
    if (request.body.size() < wanted) {
        std::string rest(wanted - request.body.size(), '\0');
        asio::read(socket, asio::buffer(rest));
        request.body += rest;
    }
    return request;
}

void write(tcp::socket& socket, const std::string& bytes) {
    asio::write(socket, asio::buffer(bytes));
}

// Returns when the client closes its end.
void wait_for_client_close(tcp::socket& socket) {
    char scratch[1024];
    boost::system::error_code ec;
    while (!ec) socket.read_some(asio::buffer(scratch), ec);
}

std::string chunk(const std::string& data) {
    std::ostringstream out;
    out << std::hex << data.size() << "\r\n" << data << "\r\n";
    return out.str();
}

// ---------------------------------------------------------------------------------------
// Ports

TEST(SupportPorts, FreePortCanBeBound) {
    uint16_t port = free_port();
    ASSERT_NE(port, 0);
    asio::io_context io;
    tcp::acceptor acceptor(io);
    acceptor.open(tcp::v4());
    EXPECT_NO_THROW(acceptor.bind(tcp::endpoint(asio::ip::address_v4::loopback(), port)));
}

TEST(SupportPorts, WaitForPortSeesAListener) {
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    EXPECT_TRUE(wait_for_port(acceptor.local_endpoint().port(), 2s));
}

TEST(SupportPorts, WaitForPortGivesUpOnAClosedPortAtItsDeadline) {
    uint16_t port = free_port();
    auto start = Clock::now();
    EXPECT_FALSE(wait_for_port(port, 200ms));
    EXPECT_GE(ms_since(start), 200);
    EXPECT_LT(ms_since(start), 1500);
}

// ---------------------------------------------------------------------------------------
// Processes

TEST(SupportProcess, CapturesStdoutStderrAndExitCode) {
    Process proc = Process::start("/bin/sh", {"-c", "echo out; echo err >&2; exit 3"});
    EXPECT_EQ(proc.wait_exit(5s), 3);
    EXPECT_EQ(proc.stdout_text(), "out\n");
    EXPECT_EQ(proc.stderr_text(), "err\n");
    EXPECT_FALSE(proc.running());
}

TEST(SupportProcess, PassesExtraEnvironmentOverridingInherited) {
    Process proc =
        Process::start("sh", {"-c", "echo \"$LLMGW_SELFTEST_VAR $HOME\"; test -n \"$PATH\""},
                       {{"LLMGW_SELFTEST_VAR", "hello"}, {"HOME", "/nowhere"}});
    EXPECT_EQ(proc.wait_exit(5s), 0);
    EXPECT_EQ(proc.stdout_text(), "hello /nowhere\n");
}

TEST(SupportProcess, ReportsDeathBySignalAs128PlusSignal) {
    Process proc = Process::start("/bin/sh", {"-c", "kill -KILL $$"});
    EXPECT_EQ(proc.wait_exit(5s), 128 + SIGKILL);
}

TEST(SupportProcess, WaitForOutputSeesLateOutputAndTerminateEndsTheChild) {
    Process proc = Process::start("/bin/sh", {"-c", "sleep 0.2; echo ready >&2; exec sleep 30"});
    EXPECT_FALSE(proc.wait_for_output("ready", 50ms));
    EXPECT_TRUE(proc.wait_for_output("ready", 5s));
    EXPECT_TRUE(proc.running());
    EXPECT_EQ(proc.terminate(), 128 + SIGTERM);
    EXPECT_FALSE(proc.running());
}

TEST(SupportProcess, WaitForOutputGivesUpAsSoonAsTheChildExits) {
    Process proc = Process::start("/bin/sh", {"-c", "echo bye"});
    auto start = Clock::now();
    EXPECT_FALSE(proc.wait_for_output("never printed", 10s));
    EXPECT_LT(ms_since(start), 2000);
    EXPECT_TRUE(proc.wait_for_output("bye", 10ms));
}

TEST(SupportProcess, WaitExitReturnsNulloptAtItsDeadline) {
    Process proc = Process::start("/bin/sleep", {"30"});
    auto start = Clock::now();
    EXPECT_EQ(proc.wait_exit(100ms), std::nullopt);
    EXPECT_GE(ms_since(start), 100);
    EXPECT_LT(ms_since(start), 1000);
}

TEST(SupportProcess, TerminateEscalatesToSigkillAfterTheGrace) {
    Process proc = Process::start("/bin/sh", {"-c", "trap '' TERM; echo ready; exec sleep 30"});
    ASSERT_TRUE(proc.wait_for_output("ready", 5s));
    auto start = Clock::now();
    EXPECT_EQ(proc.terminate(200ms), 128 + SIGKILL);
    EXPECT_GE(ms_since(start), 200);
    EXPECT_LT(ms_since(start), 2000);
}

TEST(SupportProcess, SignalReachesTheChild) {
    Process proc = Process::start("/bin/sleep", {"30"});
    proc.signal(SIGINT);
    EXPECT_EQ(proc.wait_exit(5s), 128 + SIGINT);
}

TEST(SupportProcess, DestructorKillsReapsAndRemovesOutputFiles) {
    pid_t pid = 0;
    std::string out_path;
    std::string err_path;
    {
        Process proc = Process::start("/bin/sleep", {"30"});
        pid = proc.pid();
        out_path = proc.stdout_path();
        err_path = proc.stderr_path();
        EXPECT_TRUE(file_exists(out_path));
        EXPECT_TRUE(file_exists(err_path));
    }
    EXPECT_EQ(::kill(pid, 0), -1);  // reaped: not even a zombie is left
    EXPECT_EQ(errno, ESRCH);
    EXPECT_FALSE(file_exists(out_path));
    EXPECT_FALSE(file_exists(err_path));
}

TEST(SupportProcess, MoveTransfersOwnership) {
    Process first = Process::start("/bin/sleep", {"30"});
    pid_t pid = first.pid();
    Process second = std::move(first);
    EXPECT_EQ(second.pid(), pid);
    EXPECT_TRUE(second.running());
    EXPECT_FALSE(first.running());  // NOLINT(bugprone-use-after-move): moved-from is inert
    second = Process::start("/bin/sh", {"-c", "exit 0"});  // kills and reaps the sleep
    EXPECT_EQ(::kill(pid, 0), -1);
    EXPECT_EQ(second.wait_exit(5s), 0);
}

TEST(SupportProcess, StartThrowsForAProgramThatCannotRun) {
    EXPECT_THROW(Process::start("/nonexistent/llmgw", {}), std::runtime_error);
}

TEST(SupportProcess, RunToExitCapturesOutput) {
    std::string out;
    std::string err;
    EXPECT_EQ(run_to_exit("/bin/sh", {"-c", "echo hi; echo oops >&2; exit 1"}, 5s, &out, &err), 1);
    EXPECT_EQ(out, "hi\n");
    EXPECT_EQ(err, "oops\n");
}

TEST(SupportProcess, RunToExitKillsACommandPastItsDeadline) {
    auto start = Clock::now();
    EXPECT_EQ(run_to_exit("/bin/sleep", {"30"}, 100ms), std::nullopt);
    EXPECT_LT(ms_since(start), 2000);
}

// ---------------------------------------------------------------------------------------
// Temp dirs

TEST(SupportTempDir, WritesFilesAndRemovesEverything) {
    std::string root;
    {
        TempDir dir;
        root = dir.path();
        std::string path = dir.write("conf/llmgw.yaml", "server: {}\n");
        EXPECT_EQ(path, root + "/conf/llmgw.yaml");
        EXPECT_EQ(dir.file("conf/llmgw.yaml"), path);
        std::ifstream in(path);
        std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        EXPECT_EQ(content, "server: {}\n");
        dir.write("conf/llmgw.yaml", "x");  // replaces
        std::ifstream again(path);
        std::string replaced((std::istreambuf_iterator<char>(again)),
                             std::istreambuf_iterator<char>());
        EXPECT_EQ(replaced, "x");
    }
    EXPECT_FALSE(file_exists(root));
}

// ---------------------------------------------------------------------------------------
// HTTP client

TEST(SupportHttp, RequestReadsAContentLengthResponse) {
    TinyServer server([](tcp::socket& socket) {
        ReceivedRequest request = read_request(socket);
        nlohmann::json echo = {{"line", request.head.substr(0, request.head.find("\r\n"))},
                               {"host", request.header("host")},
                               {"length", request.header("content-length")},
                               {"test", request.header("x-test")},
                               {"body", request.body}};
        std::string body = echo.dump();
        write(socket,
              "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Multi: a\r\n"
              "X-Multi: b\r\nContent-Length: " +
                  std::to_string(body.size()) + "\r\n\r\n" + body);
        wait_for_client_close(socket);
    });
    HttpRequest request{"POST", "/v1/echo", {{"X-Test", "yes"}}, R"({"a":1})"};
    HttpResponse response = http_request(server.port(), request, 5s);
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.reason, "OK");
    EXPECT_EQ(response.header("Content-Type"), "application/json");
    EXPECT_TRUE(response.has_header("content-type"));
    EXPECT_FALSE(response.has_header("x-absent"));
    EXPECT_EQ(response.header("x-absent"), "");
    EXPECT_EQ(response.header_values("x-multi"), (std::vector<std::string>{"a", "b"}));
    ASSERT_EQ(response.headers.front().first, "content-type");  // names lower-cased
    nlohmann::json echo = response.json();
    EXPECT_EQ(echo["line"], "POST /v1/echo HTTP/1.1");
    EXPECT_EQ(echo["host"], "127.0.0.1:" + std::to_string(server.port()));
    EXPECT_EQ(echo["length"], "7");
    EXPECT_EQ(echo["test"], "yes");
    EXPECT_EQ(echo["body"], R"({"a":1})");
}

TEST(SupportHttp, ConnectionKeepsAliveUntilTheServerCloses) {
    TinyServer server([](tcp::socket& socket) {
        for (std::string answer : {"first", "second"}) {
            read_request(socket);
            std::string close = answer == "second" ? "Connection: close\r\n" : "";
            write(socket, "HTTP/1.1 200 OK\r\n" + close + "Content-Length: " +
                              std::to_string(answer.size()) + "\r\n\r\n" + answer);
        }
    });
    HttpConnection connection(server.port());
    EXPECT_NE(connection.local_port(), 0);
    EXPECT_EQ(connection.send({}, 5s).body, "first");
    HttpResponse second = connection.send({"POST", "/second", {}, ""}, 5s);
    EXPECT_EQ(second.body, "second");
    EXPECT_EQ(second.header("connection"), "close");
    EXPECT_TRUE(connection.closed_by_peer(5s));
    EXPECT_EQ(server.connections(), 1);
}

TEST(SupportHttp, ClosedByPeerIsFalseWhileTheServerKeepsTheConnection) {
    TinyServer server([](tcp::socket& socket) {
        read_request(socket);
        write(socket, "HTTP/1.1 204 No Content\r\n\r\n");
        wait_for_client_close(socket);
    });
    HttpConnection connection(server.port());
    EXPECT_EQ(connection.send({}, 5s).status, 204);
    auto start = Clock::now();
    EXPECT_FALSE(connection.closed_by_peer(150ms));
    EXPECT_GE(ms_since(start), 150);
}

TEST(SupportHttp, StreamRecordsWhenEachChunkArrives) {
    TinyServer server([](tcp::socket& socket) {
        read_request(socket);
        write(socket,
              "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
              "Transfer-Encoding: chunked\r\n\r\n" +
                  chunk("data: one\n\n"));
        std::this_thread::sleep_for(200ms);  // the server paces the stream on purpose
        write(socket, chunk("data: two\n\n"));
        std::this_thread::sleep_for(200ms);
        write(socket, chunk("data: [DONE]\n\n"));
        write(socket, "0\r\n\r\n");
        wait_for_client_close(socket);
    });
    StreamedResponse response = http_stream(server.port(), {"POST", "/v1/chat/completions"}, 5s);
    ASSERT_TRUE(response.complete) << response.error;
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.header("content-type"), "text/event-stream");
    EXPECT_EQ(response.body(), "data: one\n\ndata: two\n\ndata: [DONE]\n\n");
    ASSERT_EQ(response.chunks.size(), 3u);
    EXPECT_EQ(response.chunks[1].data, "data: two\n\n");
    EXPECT_LT(ms(response.head_after), 150);
    EXPECT_LT(ms(response.chunks[0].arrived_after), 150);
    EXPECT_GE(ms(response.chunks[1].arrived_after), 150);
    EXPECT_LT(ms(response.chunks[1].arrived_after), 1000);
    EXPECT_GE(ms(response.chunks[2].arrived_after), 350);
    EXPECT_LT(ms(response.chunks[2].arrived_after), 2000);
    EXPECT_GE(ms(response.chunks[2].arrived_after - response.chunks[0].arrived_after), 300);

    EXPECT_EQ(sse_data_lines(response.body()), (std::vector<std::string>{"one", "two", "[DONE]"}));
    ASSERT_EQ(sse_event_arrivals(response).size(), 3u);
    EXPECT_LT(ms(*sse_event_arrival(response, 0)), 150);
    EXPECT_GE(ms(*sse_event_arrival(response, 2)), 350);
    EXPECT_EQ(sse_event_arrival(response, 3), std::nullopt);
}

TEST(SupportHttp, StreamReportsAChunkedBodyCutShort) {
    TinyServer server([](tcp::socket& socket) {
        read_request(socket);
        write(socket, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk("hello"));
        socket.close();
    });
    StreamedResponse response = http_stream(server.port(), {}, 5s);
    EXPECT_EQ(response.status, 200);
    EXPECT_FALSE(response.complete);
    EXPECT_NE(response.error.find("closed"), std::string::npos) << response.error;
    EXPECT_EQ(response.body(), "hello");
}

TEST(SupportHttp, ShortContentLengthIsIncompleteAndFailsARequest) {
    TinyServer server([](tcp::socket& socket) {
        read_request(socket);
        write(socket, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
        socket.close();
    });
    StreamedResponse streamed = http_stream(server.port(), {}, 5s);
    EXPECT_FALSE(streamed.complete);
    EXPECT_EQ(streamed.body(), "0123456789");
    EXPECT_THROW(http_request(server.port(), {}, 5s), HttpError);
}

TEST(SupportHttp, CloseDelimitedBodyIsComplete) {
    TinyServer server([](tcp::socket& socket) {
        read_request(socket);
        write(socket, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end");
        socket.close();
    });
    StreamedResponse response = http_stream(server.port(), {}, 5s);
    EXPECT_TRUE(response.complete) << response.error;
    EXPECT_EQ(response.body(), "until the end");
}

TEST(SupportHttp, RequestFailsClearlyAtItsDeadline) {
    TinyServer server([](tcp::socket& socket) {
        read_request(socket);
        write(socket, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
        wait_for_client_close(socket);
    });
    auto start = Clock::now();
    try {
        http_request(server.port(), {"GET", "/slow"}, 300ms);
        ADD_FAILURE() << "expected HttpError";
    } catch (const HttpError& e) {
        std::string message = e.what();
        EXPECT_NE(message.find("deadline"), std::string::npos) << message;
        EXPECT_NE(message.find("GET /slow"), std::string::npos) << message;
        EXPECT_NE(message.find("status 200"), std::string::npos) << message;
    }
    EXPECT_GE(ms_since(start), 300);
    EXPECT_LT(ms_since(start), 2000);
}

TEST(SupportHttp, StreamStillRunningAtTheDeadlineIsIncomplete) {
    TinyServer server([](tcp::socket& socket) {
        read_request(socket);
        write(socket, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk("first"));
        wait_for_client_close(socket);
    });
    auto start = Clock::now();
    StreamedResponse response = http_stream(server.port(), {}, 300ms);
    EXPECT_LT(ms_since(start), 2000);
    EXPECT_FALSE(response.complete);
    EXPECT_NE(response.error.find("deadline"), std::string::npos) << response.error;
    EXPECT_EQ(response.body(), "first");
}

TEST(SupportHttp, RequestFailsClearlyWhenNothingListens) {
    try {
        http_request(free_port(), {}, 2s);
        ADD_FAILURE() << "expected HttpError";
    } catch (const HttpError& e) {
        EXPECT_NE(std::string(e.what()).find("connect"), std::string::npos) << e.what();
    }
}

TEST(SupportHttp, HeadRequestDoesNotWaitForABody) {
    TinyServer server([](tcp::socket& socket) {
        read_request(socket);
        write(socket, "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n");
        wait_for_client_close(socket);
    });
    HttpResponse response = http_request(server.port(), {"HEAD", "/"}, 2s);
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.header("content-length"), "50");
    EXPECT_TRUE(response.body.empty());
}

TEST(SupportHttp, RawConnectionReadsTheAnswerAndTheClose) {
    TinyServer server([](tcp::socket& socket) {
        std::string buffer;
        asio::read_until(socket, asio::dynamic_buffer(buffer), "\r\n\r\n");
        write(socket,
              "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbad");
        socket.close();
    });
    RawConnection raw(server.port());
    EXPECT_NE(raw.local_port(), 0);
    EXPECT_TRUE(raw.send("GARBAGE\r\n"));
    EXPECT_TRUE(raw.send("\r\n"));
    std::string answer = raw.read_until_close(5s);
    HttpResponse response = parse_response(answer);
    EXPECT_EQ(response.status, 400);
    EXPECT_EQ(response.body, "bad");
    EXPECT_TRUE(raw.closed_by_peer(1s));
}

TEST(SupportHttp, RawReadsStopAtTheirDeadline) {
    TinyServer server([](tcp::socket& socket) {
        std::string buffer;
        asio::read_until(socket, asio::dynamic_buffer(buffer), "ping");
        write(socket, "pong");
        wait_for_client_close(socket);
    });
    RawConnection raw(server.port());
    auto start = Clock::now();
    EXPECT_EQ(raw.read_some(100ms), "");
    EXPECT_GE(ms_since(start), 100);
    EXPECT_FALSE(raw.closed_by_peer(100ms));
    // The connection still works after reads that timed out.
    EXPECT_TRUE(raw.send("ping"));
    EXPECT_EQ(raw.read_some(5s), "pong");
    start = Clock::now();
    EXPECT_EQ(raw.read_until_close(150ms), "");
    EXPECT_GE(ms_since(start), 150);
    EXPECT_LT(ms_since(start), 1500);
}

TEST(SupportHttp, RawShutdownSendIsSeenAsEndOfStream) {
    TinyServer server([](tcp::socket& socket) {
        wait_for_client_close(socket);
        write(socket, "bye");
    });
    RawConnection raw(server.port());
    raw.shutdown_send();
    EXPECT_EQ(raw.read_until_close(5s), "bye");
}

TEST(SupportHttp, ParseResponseDecodesChunkedBodies) {
    HttpResponse response = parse_response(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: b\r\n\r\n"
        "3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\nHTTP/1.1 500 Next\r\n\r\n");
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.body, "abcde");
    EXPECT_EQ(response.header("x-a"), "b");
}

TEST(SupportHttp, ParseResponseSkipsInterimResponses) {
    HttpResponse response = parse_response(
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok");
    EXPECT_EQ(response.status, 201);
    EXPECT_EQ(response.body, "ok");
}

TEST(SupportHttp, ParseResponseRejectsIncompleteOrInvalidInput) {
    EXPECT_THROW(parse_response("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab"), HttpError);
    EXPECT_THROW(parse_response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc"),
                 HttpError);
    EXPECT_THROW(parse_response("HTTP/1.1 200 OK\r\nContent-Le"), HttpError);
    EXPECT_THROW(parse_response(""), HttpError);
    EXPECT_THROW(parse_response("not http at all\r\n\r\n"), HttpError);
}

TEST(SupportHttp, JsonOfANonJsonBodyThrowsHttpError) {
    HttpResponse response;
    response.status = 502;
    response.body = "<html>bad gateway</html>";
    EXPECT_THROW(response.json(), HttpError);
}

TEST(SupportHttp, SerializeAddsHostAndContentLengthOnlyWhenNeeded) {
    EXPECT_EQ(serialize_request({}, 8080), "GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n");
    EXPECT_EQ(serialize_request({"POST", "/x", {{"Host", "h"}}, ""}, 1),
              "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
    EXPECT_EQ(
        serialize_request({"PUT", "/x", {{"Transfer-Encoding", "chunked"}}, "0\r\n\r\n"}, 1),
        "PUT /x HTTP/1.1\r\nHost: 127.0.0.1:1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
}

// ---------------------------------------------------------------------------------------
// Server-sent events

TEST(SupportSse, DataLinesAcceptCrlfAndAMissingSpace) {
    std::string body =
        ": comment\r\nevent: delta\r\ndata: {\"a\":1}\r\n\r\ndata:tight\n\ndata: \n\ndata: cut";
    EXPECT_EQ(sse_data_lines(body), (std::vector<std::string>{"{\"a\":1}", "tight", ""}));
}

TEST(SupportSse, EventArrivalIsTheReadThatCompletedTheEvent) {
    StreamedResponse response;
    response.chunks = {{"data: a\n", 10ms},
                       {"\ndata: b\n\ndata: c\n\nda", 20ms},
                       {"ta: d\n", 30ms},
                       {": keep-alive\n\n\n", 40ms},
                       {"\n", 50ms}};
    auto arrivals = sse_event_arrivals(response);
    ASSERT_EQ(arrivals.size(), 4u);
    EXPECT_EQ(arrivals[0], Clock::duration(20ms));
    EXPECT_EQ(arrivals[1], Clock::duration(20ms));
    EXPECT_EQ(arrivals[2], Clock::duration(20ms));
    EXPECT_EQ(arrivals[3], Clock::duration(40ms));  // "d" ends at the blank line in read 4
    EXPECT_EQ(sse_event_arrival(response, 4), std::nullopt);
}

}  // namespace
}  // namespace llmgw::testing
