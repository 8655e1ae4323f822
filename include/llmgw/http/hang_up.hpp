// The client of a request in progress went away: told by its session (which watches the
// connection), heard by whatever does the request's work through a cancellation slot.
#pragma once

#include <boost/asio/cancellation_signal.hpp>

namespace llmgw::http {

class HangUp {
public:
    bool happened() const { return happened_; }
    // A handler assigned here runs once when the client leaves: closing the upstream
    // connection (which tells the model server to stop), cutting a retry pause short.
    // Clear the slot when the work it would cancel has ended.
    boost::asio::cancellation_slot slot() { return signal_.slot(); }
    void fire() {
        if (happened_) return;
        happened_ = true;
        signal_.emit(boost::asio::cancellation_type::terminal);
    }

private:
    boost::asio::cancellation_signal signal_;
    bool happened_ = false;
};

}  // namespace llmgw::http
