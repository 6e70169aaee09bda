// Base64 (RFC 4648, standard alphabet) decoding of SASL responses seen on the wire. Pure.
#pragma once

#include <cstddef>
#include <string_view>

namespace strikeout::wire {

// Decodes `text` into `out` (at most `capacity` bytes) and sets `length`. Accepts the standard
// alphabet with optional `=` padding at the end only; refuses (returns false) any other byte, padding
// in the middle, a length that cannot be base64 (4n+1 characters), and output longer than `capacity`.
// On refusal `out` may hold partial output: the caller zeroes it (it may be a password).
bool decode_base64(std::string_view text, char* out, std::size_t capacity, std::size_t& length);

}  // namespace strikeout::wire
