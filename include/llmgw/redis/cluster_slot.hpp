// Redis Cluster's key slots: which of the 16384 slots, and so which master, holds a key.
#pragma once

#include <cstdint>
#include <string_view>

namespace llmgw::redis {

constexpr std::uint16_t cluster_slots = 16384;

// CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0), the checksum Cluster uses.
std::uint16_t crc16(std::string_view data);

// The key's slot: the CRC16 of its hash tag (the text between the first '{' and the next '}',
// when not empty) or else of the whole key, modulo 16384. Keys sharing a tag share a slot.
std::uint16_t key_slot(std::string_view key);

}  // namespace llmgw::redis
