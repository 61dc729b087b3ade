// response_sink: how request handlers answer a client without knowing the
// transport. The HTTP session implements it over a socket; handlers call post()
// from any thread to get onto the connection's strand, and every other method
// only from that strand. After the client disconnects, writes are dropped and
// the on_disconnect callback (if any) runs once on the strand.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace actorlm::net {

class response_sink {
public:
    virtual ~response_sink() = default;

    /// Runs `fn` on the connection's strand. Thread-safe; never blocks.
    virtual void post(std::function<void()> fn) = 0;
    /// Sends a complete response (Content-Length framed). Ends the exchange.
    /// `extra_headers`: whole header lines ("Retry-After: 1\r\n"), or empty.
    virtual void send(int status, std::string_view content_type, std::string body,
                      std::string_view extra_headers) = 0;
    void send(int status, std::string_view content_type, std::string body) {
        send(status, content_type, std::move(body), {});
    }
    /// Starts a 200 streamed (chunked) response with the given content type.
    virtual void start_stream(std::string_view content_type) = 0;
    /// Appends bytes to a started stream.
    virtual void write(std::string data) = 0;
    /// Ends a started stream. Ends the exchange.
    virtual void end_stream() = 0;
    /// Registers what to do if the client goes away before the exchange ends (abort).
    virtual void on_disconnect(std::function<void()> fn) = 0;
    /// True once the client is known to be gone.
    virtual bool disconnected() const = 0;
};

}  // namespace actorlm::net
