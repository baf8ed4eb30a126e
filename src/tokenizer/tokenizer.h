// Text <-> token ids for the model families sparkv runs: byte-level BPE (Llama-3, Qwen2/2.5/3,
// GGUF tokenizer.ggml.model = "gpt2") and SentencePiece-style vocabularies (model = "llama").
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sparkv {

class GgufFile;

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Loaders throw sparkv::Error naming the file and the problem.
  static std::unique_ptr<Tokenizer> from_gguf(const GgufFile& gguf);
  // `path` is a tokenizer.json file or a folder holding tokenizer.json (+ tokenizer_config.json).
  static std::unique_ptr<Tokenizer> from_hf(const std::string& path);

  // add_bos: prepend BOS when the vocabulary says so (add_bos_token); parse_special: match
  // added/special token strings in the text. Invalid UTF-8 throws.
  virtual std::vector<int32_t> encode(std::string_view text, bool add_bos = true,
                                      bool parse_special = true) const = 0;
  // Concatenated text of ids (special tokens rendered as their text unless skip_special).
  virtual std::string decode(const std::vector<int32_t>& ids, bool skip_special = false) const = 0;
  // Raw bytes of one token (may be a partial UTF-8 sequence); throws on id out of range.
  virtual std::string token_bytes(int32_t id) const = 0;
  // The token's stored string (e.g. "Ġthe"), for --json piece listings.
  virtual const std::string& token_text(int32_t id) const = 0;
  virtual int32_t n_vocab() const = 0;
  virtual bool is_special(int32_t id) const = 0;

  int32_t bos_id() const { return bos_id_; }   // -1 if none
  int32_t eos_id() const { return eos_id_; }   // -1 if none
  // Every id that ends generation (eos, eot, eom, im_end, ...).
  const std::vector<int32_t>& stop_ids() const { return stop_ids_; }
  bool add_bos() const { return add_bos_; }
  // The Jinja chat template text shipped with the vocabulary ("" if none).
  const std::string& chat_template() const { return chat_template_; }
  // "gpt2" or "llama" (GGUF tokenizer.ggml.model spelling) and the pre-tokenizer name.
  const std::string& kind() const { return kind_; }
  const std::string& pre() const { return pre_; }

 protected:
  int32_t bos_id_ = -1;
  int32_t eos_id_ = -1;
  std::vector<int32_t> stop_ids_;
  bool add_bos_ = false;
  std::string chat_template_;
  std::string kind_;
  std::string pre_;
};

// Incremental decoder for streaming: buffers UTF-8 sequences split across tokens so that every
// returned string is valid UTF-8.
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tok) : tok_(tok) {}
  std::string push(int32_t id);  // text that became complete with this token
  std::string flush();           // whatever remains (invalid tails become U+FFFD)

 private:
  const Tokenizer& tok_;
  std::string pending_;
};

}  // namespace sparkv
