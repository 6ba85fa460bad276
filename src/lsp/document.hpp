// LSP text documents: the text of every open document (UTF-8), kept in sync by didOpen/didChange
// (incremental or full)/didClose, and conversion between LSP positions and byte offsets in the three
// position encodings of LSP 3.17 (utf-16, the default; utf-8; utf-32). Loop thread only; pure data.
//
// Positions from the client are never trusted: every conversion clamps (a line past the end is the
// end of the text, a character past the end of its line is the line's end, a character inside a code
// point — half a surrogate pair, the middle of a UTF-8 sequence — is that code point's start).
// Line terminators are "\n", "\r\n" and "\r", as in the specification.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace glm::lsp {

enum class Encoding { utf8, utf16, utf32 };

const char* encoding_name(Encoding e);
std::optional<Encoding> parse_encoding(std::string_view name);

struct Position {
  int64_t line = 0;
  int64_t character = 0;
  bool operator==(const Position&) const = default;
};

class Document {
 public:
  Document() : Document("", 0, "") {}
  Document(std::string text, int64_t version, std::string language_id);

  const std::string& text() const { return text_; }
  int64_t version() const { return version_; }
  void set_version(int64_t v) { version_ = v; }
  const std::string& language_id() const { return language_id_; }
  size_t line_count() const { return line_starts_.size(); }

  // Byte offset of a position (clamped as described above).
  size_t offset_of(Position p, Encoding e) const;
  // The position of a byte offset (an offset inside a code point counts as its start).
  Position position_of(size_t offset, Encoding e) const;
  // Byte range [start, end) of the line's content, without its terminator.
  std::pair<size_t, size_t> line_span(size_t line) const;

  // One contentChange of didChange: the range [start, end) becomes `text` (a reversed range is
  // taken in order); `full`: the whole text becomes `text`.
  struct Change {
    bool full = false;
    Position start, end;
    std::string_view text;
  };
  // The contentChanges of one didChange, in order, each on the result of the previous ones. Linear in
  // the document's size once plus each edit's own size and its distance from the previous edit (a gap
  // buffer over the text and the line index; on one line, positions are found from the previous
  // edit's end), not the document's or the line's size per edit: 20,000 edits near the top of a large
  // document, or along one long line, take milliseconds.
  void apply_changes(const std::vector<Change>& changes, Encoding e);
  void apply_change(Position start, Position end, std::string_view text, Encoding e) {
    apply_changes({Change{false, start, end, text}}, e);
  }
  // A contentChange without a range: the whole text.
  void replace_all(std::string text);

 private:
  void index_all();

  std::string text_;
  int64_t version_ = 0;
  std::string language_id_;
  std::vector<size_t> line_starts_;  // byte offset of each line's first byte; [0] == 0; never empty
};

// Open documents by URI.
class DocumentStore {
 public:
  Document& open(const std::string& uri, std::string text, int64_t version, std::string language_id);
  void close(const std::string& uri) { docs_.erase(uri); }
  Document* find(const std::string& uri);
  size_t size() const { return docs_.size(); }
  size_t total_bytes() const;

 private:
  std::map<std::string, Document> docs_;
};

// UTF-8 helpers shared by the adapter.
// Length of the UTF-8 sequence that starts with `lead` (1 for a byte that cannot start one).
size_t utf8_sequence_length(unsigned char lead);
// `offset` moved back to the start of the code point it is in.
size_t utf8_floor(std::string_view text, size_t offset);

}  // namespace glm::lsp
