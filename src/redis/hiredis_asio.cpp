// hiredis's event hooks mapped to async_wait(wait_read / wait_write) on a non-owning
// stream_descriptor: hiredis asks for readiness, Asio reports it, hiredis does the I/O.
#include "llmgw/redis/hiredis_asio.hpp"

#include <hiredis/async.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <functional>
#include <memory>
#include <utility>

namespace llmgw::redis {
namespace {

namespace asio = boost::asio;
using Wait = asio::posix::stream_descriptor::wait_type;

// One per connection. hiredis holds a plain pointer to it (ev.data); `owned_by_hiredis` keeps
// it alive until cleanup, and each pending wait's handler holds its own reference, so a handler
// that completes after cleanup finds `context == nullptr` instead of freed memory.
class Watcher : public std::enable_shared_from_this<Watcher> {
public:
    Watcher(redisAsyncContext* context, const asio::any_io_executor& executor,
            std::function<void()> after_read)
        : context_(context), socket_(executor, context->c.fd), after_read_(std::move(after_read)) {}

    std::shared_ptr<Watcher> owned_by_hiredis;

    // hiredis may ask again while a wait is pending ("these functions should be idempotent"):
    // only the wanted flag changes then; a wait that fires while unwanted is ignored.
    void want(Wait wait, bool wanted) {
        Direction& d = direction(wait);
        d.wanted = wanted;
        if (wanted && !d.waiting && context_) arm(wait);
    }

    // hiredis is freeing the context and will close the fd: let go of it first.
    void cleanup() {
        context_ = nullptr;
        reading_.wanted = writing_.wanted = false;
        boost::system::error_code ignored;
        socket_.cancel(ignored);
        socket_.release();
        owned_by_hiredis.reset();  // *this lives on while a handler holds it
    }

private:
    struct Direction {
        bool wanted = false;
        bool waiting = false;
    };

    Direction& direction(Wait wait) { return wait == Wait::wait_read ? reading_ : writing_; }

    void arm(Wait wait) {
        direction(wait).waiting = true;
        socket_.async_wait(wait, [keep = shared_from_this(), wait](boost::system::error_code ec) {
            keep->ready(wait, ec);
        });
    }

    void ready(Wait wait, boost::system::error_code ec) {
        Direction& d = direction(wait);
        d.waiting = false;
        if (ec == asio::error::operation_aborted || !context_ || !d.wanted) return;
        // Any other error is left for hiredis to find on the socket. The call may run reply
        // callbacks, and may free the context (then cleanup() ran).
        if (wait == Wait::wait_read) {
            redisAsyncHandleRead(context_);
            if (context_ && after_read_) after_read_();
        } else {
            redisAsyncHandleWrite(context_);
        }
        if (context_ && d.wanted && !d.waiting) arm(wait);
    }

    redisAsyncContext* context_;
    asio::posix::stream_descriptor socket_;
    Direction reading_;
    Direction writing_;
    std::function<void()> after_read_;
};

Watcher* watcher(void* data) {
    return static_cast<Watcher*>(data);
}

}  // namespace

bool attach_to_asio(redisAsyncContext* context, const asio::any_io_executor& executor,
                    std::function<void()> after_read) {
    if (context->ev.data != nullptr) return false;
    auto w = std::make_shared<Watcher>(context, executor, std::move(after_read));
    w->owned_by_hiredis = w;
    context->ev.data = w.get();
    context->ev.addRead = [](void* data) { watcher(data)->want(Wait::wait_read, true); };
    context->ev.delRead = [](void* data) { watcher(data)->want(Wait::wait_read, false); };
    context->ev.addWrite = [](void* data) { watcher(data)->want(Wait::wait_write, true); };
    context->ev.delWrite = [](void* data) { watcher(data)->want(Wait::wait_write, false); };
    context->ev.cleanup = [](void* data) { watcher(data)->cleanup(); };
    return true;
}

}  // namespace llmgw::redis
