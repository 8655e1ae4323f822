// Fetches JWKS documents over HTTPS (HTTP only on loopback) on a background thread.
#include "llmgw/auth/jwks_refresher.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "llmgw/auth/jwks.hpp"
#include "llmgw/auth/jwt_verifier.hpp"

namespace llmgw::auth {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = net::ip::tcp;
using clock = std::chrono::steady_clock;
using namespace net::experimental::awaitable_operators;

namespace {

struct Url {
    bool tls = true;
    std::string host;
    std::string port;
    std::string target;
};

std::optional<Url> parse_url(std::string_view text) {
    Url url;
    if (text.rfind("https://", 0) == 0) {
        text.remove_prefix(8);
        url.port = "443";
    } else if (text.rfind("http://", 0) == 0) {
        text.remove_prefix(7);
        url.tls = false;
        url.port = "80";
    } else {
        return std::nullopt;
    }
    const auto slash = text.find('/');
    auto authority = text.substr(0, slash);
    url.target = slash == std::string_view::npos ? "/" : std::string(text.substr(slash));
    const auto colon = authority.rfind(':');
    if (colon != std::string_view::npos && authority.back() != ']') {
        url.port = std::string(authority.substr(colon + 1));
        authority = authority.substr(0, colon);
    }
    url.host = std::string(authority);
    if (url.host.size() > 2 && url.host.front() == '[')
        url.host = url.host.substr(1, url.host.size() - 2);
    if (url.host.empty()) return std::nullopt;
    return url;
}

bool is_loopback(const std::string& host) {
    return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

template <typename Stream>
net::awaitable<std::optional<std::string>> exchange(Stream& stream, const Url& url,
                                                    std::string& error) {
    bhttp::request<bhttp::empty_body> request(bhttp::verb::get, url.target, 11);
    const auto host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
    const bool default_port = url.port == (url.tls ? "443" : "80");
    request.set(bhttp::field::host, default_port ? host : host + ":" + url.port);
    request.set(bhttp::field::accept, "application/json");
    request.set(bhttp::field::user_agent, "llmgw-jwks");
    auto [write_ec, written] =
        co_await bhttp::async_write(stream, request, net::as_tuple(net::use_awaitable));
    if (write_ec) {
        error = "sending the request failed: " + write_ec.message();
        co_return std::nullopt;
    }
    beast::flat_buffer buffer;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(1024 * 1024);
    auto [read_ec, read] =
        co_await bhttp::async_read(stream, buffer, parser, net::as_tuple(net::use_awaitable));
    if (read_ec) {
        error = "reading the answer failed: " + read_ec.message();
        co_return std::nullopt;
    }
    if (parser.get().result_int() != 200) {
        error = "the server answered " + std::to_string(parser.get().result_int());
        co_return std::nullopt;
    }
    std::optional<std::string> body = std::move(parser.get().body());
    co_return body;
}

net::awaitable<std::optional<std::string>> http_get(net::ssl::context& tls, const Url& url,
                                                    std::string& error) {
    auto executor = co_await net::this_coro::executor;
    tcp::resolver resolver(executor);
    net::steady_timer limit(executor, JwksRefresher::fetch_timeout);
    auto lookup =
        co_await (resolver.async_resolve(url.host, url.port, net::as_tuple(net::use_awaitable)) ||
                  limit.async_wait(net::as_tuple(net::use_awaitable)));
    if (lookup.index() == 1) {
        error = "cannot resolve " + url.host + ": timed out";
        co_return std::nullopt;
    }
    auto [resolve_ec, endpoints] = std::get<0>(std::move(lookup));
    if (resolve_ec) {
        error = "cannot resolve " + url.host + ": " + resolve_ec.message();
        co_return std::nullopt;
    }
    beast::tcp_stream tcp_stream(executor);
    tcp_stream.expires_after(JwksRefresher::fetch_timeout);
    auto [connect_ec, connected] =
        co_await tcp_stream.async_connect(endpoints, net::as_tuple(net::use_awaitable));
    if (connect_ec) {
        error = "cannot connect: " + connect_ec.message();
        co_return std::nullopt;
    }
    if (!url.tls) {
        auto body = co_await exchange(tcp_stream, url, error);
        co_return body;
    }
    beast::ssl_stream<beast::tcp_stream> stream(std::move(tcp_stream), tls);
    if (!SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str())) {
        error = "cannot set the TLS server name";
        co_return std::nullopt;
    }
    stream.set_verify_callback(net::ssl::host_name_verification(url.host));
    auto [handshake_ec] = co_await stream.async_handshake(net::ssl::stream_base::client,
                                                          net::as_tuple(net::use_awaitable));
    if (handshake_ec) {
        error = "TLS handshake failed: " + handshake_ec.message();
        co_return std::nullopt;
    }
    auto body = co_await exchange(stream, url, error);
    co_return body;
}

}  // namespace

struct JwksRefresher::State {
    std::vector<std::shared_ptr<JwtVerifier>> verifiers;
    net::io_context io{1};
    net::ssl::context tls{net::ssl::context::tls_client};
    std::vector<std::unique_ptr<net::steady_timer>> wakeups;
    std::vector<clock::time_point> last_early_fetch;  // the last one an unknown kid asked for
    std::thread thread;
    std::mutex mutex;
    std::condition_variable first_round_done;
    std::size_t first_round_pending = 0;

    net::awaitable<void> keep_fresh(std::size_t index);
};

net::awaitable<void> JwksRefresher::State::keep_fresh(std::size_t index) {
    auto& verifier = *verifiers[index];
    const auto& issuer = verifier.issuer();
    bool first = true;
    for (;;) {
        std::string error;
        std::optional<std::string> body;
        if (const auto url = parse_url(issuer.jwks_url); !url)
            error = "invalid URL";
        else if (!url->tls && !is_loopback(url->host))
            error = "plain http is only allowed on loopback addresses";
        else
            body = co_await http_get(tls, *url, error);
        auto next = issuer.jwks_refresh;
        if (body) {
            auto keys = KeySet::parse(*body, &error);
            if (keys) {
                spdlog::info("jwt issuer {}: {} keys loaded from {}", issuer.issuer,
                             keys->keys().size(), issuer.jwks_url);
                for (const auto& warning : keys->warnings())
                    spdlog::warn("jwt issuer {}: {}", issuer.issuer, warning);
                verifier.replace_keys(std::make_shared<const KeySet>(std::move(*keys)));
            }
        }
        if (!error.empty()) {
            // The keys already loaded stay in use; try again sooner than the regular interval.
            spdlog::warn("jwt issuer {}: fetching {} failed ({}); keeping the current keys",
                         issuer.issuer, issuer.jwks_url, error);
            next = std::min<std::chrono::milliseconds>(next, std::chrono::seconds(10));
        }
        if (first) {
            first = false;
            std::lock_guard lock(mutex);
            --first_round_pending;
            first_round_done.notify_all();
        }
        wakeups[index]->expires_after(next);
        co_await wakeups[index]->async_wait(net::as_tuple(net::use_awaitable));
    }
}

JwksRefresher::JwksRefresher(std::vector<std::shared_ptr<JwtVerifier>> verifiers)
    : state_(std::make_unique<State>()) {
    state_->verifiers = std::move(verifiers);
    state_->tls.set_default_verify_paths();
    state_->tls.set_verify_mode(net::ssl::verify_peer);
    state_->tls.set_options(net::ssl::context::no_sslv2 | net::ssl::context::no_sslv3 |
                            net::ssl::context::no_tlsv1 | net::ssl::context::no_tlsv1_1);
    for (std::size_t i = 0; i < state_->verifiers.size(); ++i) {
        state_->wakeups.push_back(std::make_unique<net::steady_timer>(state_->io));
        state_->last_early_fetch.push_back(clock::time_point{});
    }
}

JwksRefresher::~JwksRefresher() {
    state_->io.stop();
    if (state_->thread.joinable()) state_->thread.join();
}

void JwksRefresher::start() {
    if (state_->verifiers.empty()) return;
    state_->first_round_pending = state_->verifiers.size();
    for (std::size_t i = 0; i < state_->verifiers.size(); ++i)
        net::co_spawn(state_->io, state_->keep_fresh(i), net::detached);
    state_->thread = std::thread([s = state_.get()] { s->io.run(); });
    std::unique_lock lock(state_->mutex);
    state_->first_round_done.wait_for(lock, fetch_timeout + std::chrono::seconds(1),
                                      [&] { return state_->first_round_pending == 0; });
}

void JwksRefresher::unknown_kid_seen(const JwtVerifier& verifier) {
    net::post(state_->io, [s = state_.get(), target = &verifier] {
        for (std::size_t i = 0; i < s->verifiers.size(); ++i) {
            if (s->verifiers[i].get() != target) continue;
            // A rotation is picked up at once, but a flood of tokens with made-up kids
            // costs the identity provider at most one fetch per cooldown.
            const auto now = clock::now();
            if (now - s->last_early_fetch[i] < unknown_kid_cooldown) continue;
            s->last_early_fetch[i] = now;
            s->wakeups[i]->cancel();
        }
    });
}

}  // namespace llmgw::auth
