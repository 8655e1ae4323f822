// A misbehaving Redis for tests: a real TCP server on a free loopback port, in its own threads,
// that answers the connection handshake sanely and other commands with a chosen bad shape.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace llmgw::testing {

// AUTH, SELECT, PING, HELLO (refused, as a RESP2-only server does) and SCRIPT LOAD always get
// sane answers, so a client connects and counts as ready (unless a greeting comes first).
// Every other command is answered in the shape current when the command arrives. An endless
// answer keeps one connection busy until the client closes it or the server stops; the
// connection reads no more commands.
class FakeRedis {
public:
    enum class Shape {
        sane,               // GET -> "value", SET -> OK, anything else -> OK
        endless_array,      // *2000000000, then 1 KiB bulk strings, forever
        huge_bulk,          // $2000000000, then bytes, forever
        deep_nesting,       // *1 inside *1 inside *1 ..., forever
        trickle,            // an endless bulk string, one byte every 2 ms
        huge_finite_array,  // *3000000 with its 3000000 integers: 12 MB, then sane again
        twice,              // the sane answer, twice over in one write
    };

    // Listens on 127.0.0.1 at a free port; accepts at once.
    explicit FakeRedis(Shape shape = Shape::sane);
    // Stops sending, closes every connection, joins the threads.
    ~FakeRedis();
    FakeRedis(const FakeRedis&) = delete;
    FakeRedis& operator=(const FakeRedis&) = delete;

    uint16_t port() const { return port_; }
    // Applies to commands that arrive from now on (not to an endless answer under way).
    void set_shape(Shape shape) { shape_ = shape; }
    // Bytes sent to each connection accepted from now on as soon as it is accepted, before the
    // client asks anything (a reply nobody asked for); empty for none.
    void set_greeting(std::string bytes) {
        std::lock_guard lock(mutex_);
        greeting_ = std::move(bytes);
    }
    // Connections accepted so far.
    std::size_t accepted() const { return accepted_; }
    // Bytes written to clients over all connections so far.
    std::uint64_t bytes_sent() const { return bytes_sent_; }

    // Endless answers stop once this many bytes were sent in all (the connection stays open):
    // a safety net so that a client with no bound cannot take the whole machine.
    static constexpr std::uint64_t kSendBudget = 512ull << 20;

private:
    void accept_loop();
    void serve(int fd);
    bool answer(int fd, const std::vector<std::string>& command);
    bool send_all(int fd, std::string_view bytes);
    bool send_forever(int fd, std::string_view head, std::string_view unit);
    bool trickle_forever(int fd);
    void idle_until_closed(int fd);

    int listener_ = -1;
    uint16_t port_ = 0;
    std::atomic<Shape> shape_;
    std::atomic<bool> stopping_{false};
    std::atomic<std::uint64_t> bytes_sent_{0};
    std::atomic<std::size_t> accepted_{0};
    std::mutex mutex_;  // guards the greeting and the two vectors below
    std::string greeting_;
    std::vector<int> connections_;
    std::vector<std::thread> threads_;
    std::thread acceptor_;
};

}  // namespace llmgw::testing
