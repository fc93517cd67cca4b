// Server-sent events (text/event-stream): bytes in, whole events out.
//
// Follows the WHATWG event-stream grammar: lines end with CRLF, LF or CR (a CRLF split across two
// chunks is one line end); a line starting with ':' is a comment; "field: value" loses one space
// after the colon; `data` lines of one event are joined with '\n'; a blank line ends the event, and
// an event without data is not dispatched; a UTF-8 byte-order mark at the very start is skipped.
// Chunks may split the stream anywhere, even inside a CRLF or a multi-byte character. Bytes after
// the last blank line belong to an unfinished event, which the stream's end discards (the
// `pending()` check tells a caller that the stream was cut inside an event).
#pragma once

#include "../config.hpp"

#include <cstddef>
#include <string>
#include <string_view>

LLMCACHE_BEGIN_NAMESPACE
namespace detail {

/// One dispatched event. The views stay valid until the next feed().
struct SseEvent {
    std::string_view type; ///< the `event:` field; "message" when the event had none
    std::string_view data; ///< `data:` lines joined with '\n'
    std::string_view id;   ///< the last `id:` seen in the stream (it persists across events)
};

class SseParser {
public:
    /// Parses `chunk` and calls `on_event(const SseEvent&) -> bool` for each complete event;
    /// returning false stops parsing (feed then returns false too, and the parser should be
    /// dropped). Returns true when every complete event was handed over.
    template <class OnEvent>
    bool feed(std::string_view chunk, OnEvent&& on_event) {
        if (!seen_start_) {
            // The byte-order mark may itself arrive split over chunks.
            static constexpr std::string_view bom = "\xEF\xBB\xBF";
            while (bom_matched_ < bom.size() && !chunk.empty() && chunk.front() == bom[bom_matched_]) {
                ++bom_matched_;
                chunk.remove_prefix(1);
            }
            if (chunk.empty() && bom_matched_ < bom.size())
                return true; // still could be a BOM
            if (bom_matched_ > 0 && bom_matched_ < bom.size())
                line_.append(bom.substr(0, bom_matched_)); // not a BOM after all: ordinary bytes
            seen_start_ = true;
        }
        while (!chunk.empty()) {
            if (after_cr_) {
                after_cr_ = false;
                if (chunk.front() == '\n') { // the LF of a CRLF split across chunks
                    chunk.remove_prefix(1);
                    continue;
                }
            }
            const std::size_t end = chunk.find_first_of("\r\n");
            if (end == std::string_view::npos) {
                line_.append(chunk);
                return true;
            }
            after_cr_ = chunk[end] == '\r';
            std::string_view line = chunk.substr(0, end);
            if (!line_.empty()) {
                line_.append(line);
                line = line_;
            }
            chunk.remove_prefix(end + 1);
            if (after_cr_ && !chunk.empty() && chunk.front() == '\n') {
                chunk.remove_prefix(1);
                after_cr_ = false;
            }
            const bool go_on = process_line(line, on_event);
            line_.clear();
            if (!go_on)
                return false;
        }
        return true;
    }

    /// True when bytes of an event that was not finished by a blank line are buffered: a stream
    /// that ends now was cut inside an event.
    bool pending() const noexcept { return !line_.empty() || has_data_ || !type_.empty(); }

private:
    template <class OnEvent>
    bool process_line(std::string_view line, OnEvent& on_event) {
        if (line.empty())
            return dispatch(on_event);
        if (line.front() == ':')
            return true; // comment (servers send them as keep-alives)
        std::string_view field = line, value;
        if (const auto colon = line.find(':'); colon != std::string_view::npos) {
            field = line.substr(0, colon);
            value = line.substr(colon + 1);
            if (!value.empty() && value.front() == ' ')
                value.remove_prefix(1);
        }
        if (field == "data") {
            if (has_data_)
                data_.push_back('\n');
            data_.append(value);
            has_data_ = true;
        } else if (field == "event") {
            type_.assign(value);
        } else if (field == "id") {
            if (value.find('\0') == std::string_view::npos)
                id_.assign(value);
        } // `retry` and unknown fields: ignored (we never reconnect by ourselves)
        return true;
    }

    template <class OnEvent>
    bool dispatch(OnEvent& on_event) {
        bool go_on = true;
        if (has_data_) {
            SseEvent ev{type_.empty() ? std::string_view("message") : std::string_view(type_), data_, id_};
            go_on = static_cast<bool>(on_event(static_cast<const SseEvent&>(ev)));
        }
        data_.clear();
        type_.clear();
        has_data_ = false;
        return go_on;
    }

    std::string line_; ///< a line split across chunks
    std::string data_;
    std::string type_;
    std::string id_;
    bool has_data_ = false;
    bool after_cr_ = false;
    bool seen_start_ = false;
    std::size_t bom_matched_ = 0;
};

} // namespace detail
LLMCACHE_END_NAMESPACE
