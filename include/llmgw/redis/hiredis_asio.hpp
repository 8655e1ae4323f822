// Drives a hiredis async context from an Asio executor (hiredis's event hooks as fd waits).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <functional>

struct redisAsyncContext;

namespace llmgw::redis {

// Installs ev.addRead/delRead/addWrite/delWrite/cleanup on `context` so that readiness of
// its socket, waited for on `executor`, calls redisAsyncHandleRead/Write. The socket stays
// owned by hiredis; the hooks' state is freed by hiredis's cleanup call (when the context
// is freed). Call before redisAsyncSetConnectCallback. Returns false if `context` already
// has event hooks. `after_read`, when set, runs after each redisAsyncHandleRead that left the
// context open (it may free the context).
bool attach_to_asio(redisAsyncContext* context, const boost::asio::any_io_executor& executor,
                    std::function<void()> after_read = {});

}  // namespace llmgw::redis
