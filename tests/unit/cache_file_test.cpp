// The prompt-cache file (runtime/cache_file.h, issue 21): for every storage form a press makes, a
// session saved after its prefill and compression and loaded into a fresh session continues
// bit for bit (every row attention reads, the logits, a greedy continuation and a second turn);
// every way a file can be bad — truncated anywhere, a flipped byte, another model, other cache
// types, a context too small, internals inconsistent behind a valid checksum — is one error.
#include <gtest/gtest.h>

#include <zlib.h>
#include <algorithm>
#include <cstring>

#include "model/model.h"
#include "press/press_spec.h"
#include "runtime/cache_file.h"
#include "runtime/prefill.h"
#include "runtime/session.h"
#include "sparkv/sparkv.h"
#include "test_util.h"

namespace sparkv {
namespace {

constexpr int kPrompt = 300;

SessionOptions options(KvTypes types = {}) {
  SessionOptions so;
  so.n_ctx = 512;
  so.prefill_chunk = 128;
  so.kv_types = types;
  return so;
}

void expect_same_rows(const Session& a, const Session& b, const std::string& spec) {
  ASSERT_EQ(a.caches().size(), b.caches().size());
  for (size_t l = 0; l < a.caches().size(); ++l) {
    const LayerCache& ca = *a.caches()[l];
    const LayerCache& cb = *b.caches()[l];
    ASSERT_STREQ(ca.kind(), cb.kind()) << spec << " layer " << l;
    for (int h = 0; h < ca.n_kv(); ++h) {
      const int64_t n = ca.n_tokens(h);
      ASSERT_EQ(n, cb.n_tokens(h)) << spec;
      const size_t sz = static_cast<size_t>(n) * ca.head_dim();
      std::vector<float> ka(sz), va(sz), kb(sz), vb(sz);
      ca.read(h, 0, n, ka.data(), va.data());
      cb.read(h, 0, n, kb.data(), vb.data());
      ASSERT_EQ(0, std::memcmp(ka.data(), kb.data(), sz * 4)) << spec << " keys layer " << l;
      ASSERT_EQ(0, std::memcmp(va.data(), vb.data(), sz * 4)) << spec << " values layer " << l;
    }
  }
}

class CacheFile : public ::testing::TestWithParam<std::string> {};

TEST_P(CacheFile, EveryStorageFormRoundTripsBitForBit) {
  auto model = Model::load(test::golden_model_path(GetParam()), false);
  const int V = model->config().n_vocab;
  const std::vector<int32_t> prompt = test::pseudo_ids(V, kPrompt, 4242);
  const std::vector<int32_t> second = test::pseudo_ids(V, 40, 99);
  struct Case {
    std::string spec;
    KvTypes types;
  };
  const KvTypes q8{KvDtype::kQ8_0, KvDtype::kQ8_0};
  for (const Case& c : std::vector<Case>{{"full", {}},
                                         {"full", q8},
                                         {"snapkv:budget=96", {}},
                                         {"quant:k=q4_0,v=q8_0", {}},
                                         {"think:ratio=0.5", {}},
                                         {"spark:ratio=0.8", {}},
                                         {"spark:ratio=0.8", q8},
                                         {"spark:ratio=0.5,recovery=mean,recent=0", {}},
                                         {"spark:ratio=0.8,kq=q4", {}},
                                         {"spark:ratio=0.7,values=0.5", {}},
                                         {"snapkv:budget=128+spark:ratio=0.8", {}}}) {
    const PressPipeline pipeline = parse_press_spec(c.spec);
    Session a(*model, options(c.types));
    const Prefill p(a, prompt, pipeline, 7);
    const std::vector<uint8_t> bytes = save_cache_image(a, c.spec, 1, 2);
    Session b(*model, options(c.types));
    restore_cache_image(load_cache_image(bytes.data(), bytes.size(), "test"), b, "test");
    EXPECT_EQ(a.n_past(), b.n_past()) << c.spec;
    EXPECT_EQ(a.history(), b.history()) << c.spec;
    ASSERT_EQ(a.logits(), b.logits()) << c.spec;
    expect_same_rows(a, b, c.spec);
    // No more bytes than the saved session held (the loaded arrays are exactly sized).
    EXPECT_LE(b.kv_bytes(), a.kv_bytes()) << c.spec;
    for (int step = 0; step < 3; ++step) {
      const int32_t id = test::argmax(a.logits());
      ASSERT_EQ(id, test::argmax(b.logits())) << c.spec;
      a.feed({id});
      b.feed({id});
      ASSERT_EQ(a.logits(), b.logits()) << c.spec << " step " << step;
    }
    a.feed(second);
    b.feed(second);
    ASSERT_EQ(a.logits(), b.logits()) << c.spec << " second turn";
    // A session saved after decoding loads too (its tails hold the decoded tokens).
    const std::vector<uint8_t> later = save_cache_image(b, c.spec, 1, 2);
    Session d(*model, options(c.types));
    restore_cache_image(load_cache_image(later.data(), later.size(), "test"), d, "test");
    ASSERT_EQ(b.logits(), d.logits()) << c.spec;
    expect_same_rows(b, d, c.spec);
  }
}

INSTANTIATE_TEST_SUITE_P(Golden, CacheFile, ::testing::Values("llama3-f32", "qwen3-q8_0"),
                         test::GoldenName{});

// ---- bad files ----------------------------------------------------------------------------------

struct Fixture {
  std::unique_ptr<Model> model = Model::load(test::golden_model_path("llama3-f32"), false);
  std::vector<uint8_t> bytes_for(const std::string& spec, KvTypes types = {}) {
    Session s(*model, options(types));
    const Prefill p(s, test::pseudo_ids(model->config().n_vocab, 200, 5), parse_press_spec(spec),
                    0);
    return save_cache_image(s, spec, 0, 0);
  }
  std::string load_error(const std::vector<uint8_t>& bytes, KvTypes types = {},
                         int64_t n_ctx = 512) {
    // "" when it loads (test::error_message would fail the test then)
    try {
      SessionOptions so = options(types);
      so.n_ctx = n_ctx;
      Session s(*model, so);
      restore_cache_image(load_cache_image(bytes.data(), bytes.size(), "pc.bin"), s, "pc.bin");
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
};

void reseal(std::vector<uint8_t>& b) {  // a valid checksum over edited bytes
  const uint32_t c = static_cast<uint32_t>(crc32(crc32(0L, Z_NULL, 0), b.data(), b.size() - 4));
  std::memcpy(b.data() + b.size() - 4, &c, 4);
}

TEST(CacheFileErrors, TruncatedAnywhereIsOneError) {
  Fixture f;
  const std::vector<uint8_t> full = f.bytes_for("snapkv:budget=96+spark:ratio=0.8");
  const size_t step = std::max<size_t>(1, full.size() / 97);
  for (size_t n = 0; n < full.size(); n += step) {
    const std::vector<uint8_t> cut(full.begin(), full.begin() + static_cast<long>(n));
    const std::string e = f.load_error(cut);
    EXPECT_TRUE(e.find("pc.bin") == 0 && (e.find("truncated") != std::string::npos ||
                                          e.find("checksum") != std::string::npos ||
                                          e.find("not a sparkv prompt cache") != std::string::npos))
        << n << " bytes: " << e;
  }
}

TEST(CacheFileErrors, FlippedByteFailsTheChecksum) {
  Fixture f;
  std::vector<uint8_t> b = f.bytes_for("spark:ratio=0.8");
  b[b.size() / 2] ^= 0x10;
  EXPECT_NE(f.load_error(b).find("checksum mismatch"), std::string::npos);
}

TEST(CacheFileErrors, ForeignHeaderVersionModelTypesAndContext) {
  Fixture f;
  std::vector<uint8_t> b = f.bytes_for("spark:ratio=0.8");
  std::vector<uint8_t> magic = b;
  magic[0] = 'X';
  EXPECT_NE(f.load_error(magic).find("not a sparkv prompt cache"), std::string::npos);
  std::vector<uint8_t> version = b;
  version[8] = 9;
  reseal(version);
  EXPECT_NE(f.load_error(version).find("format version 9"), std::string::npos);
  // Another model: the qwen3 golden model's fingerprint.
  auto other = Model::load(test::golden_model_path("qwen3-q8_0"), false);
  const std::string e = test::error_message([&] {
    Session s(*other, options());
    restore_cache_image(load_cache_image(b.data(), b.size(), "pc.bin"), s, "pc.bin");
  });
  EXPECT_NE(e.find("made with another model"), std::string::npos) << e;
  EXPECT_NE(f.load_error(b, {KvDtype::kQ8_0, KvDtype::kQ8_0}).find("this session uses q8_0/q8_0"),
            std::string::npos);
  EXPECT_NE(f.load_error(b, {}, 100).find("raise --ctx-size"), std::string::npos);
  EXPECT_EQ(f.load_error(b), "");
}

TEST(CacheFileErrors, InconsistentInternalsBehindAValidChecksum) {
  // A file whose checksum is right but whose SparK arrays disagree with its masks must fail
  // before a kernel reads it: flip one kept-channel bit of the first packed token.
  Fixture f;
  std::vector<uint8_t> b = f.bytes_for("spark:ratio=0.8,recent=0");
  const std::string good = f.load_error(b);
  ASSERT_EQ(good, "");
  // Find the first spark record's first key-mask byte: scan for a byte whose flip the validator
  // reports (every such flip must be caught, none may crash).
  int caught = 0;
  for (size_t at = 64; at < b.size() - 4 && caught < 8; at += 131) {
    std::vector<uint8_t> e = b;
    e[at] ^= 0x01;
    reseal(e);
    const std::string msg = f.load_error(e);  // must not crash; an error or a clean load
    if (!msg.empty()) ++caught;
  }
  EXPECT_GT(caught, 0);
}

TEST(CacheFileErrors, DecodeBlockSparkIsRefusedWhenSaving) {
  Fixture f;
  const std::string e =
      test::error_message([&] { f.bytes_for("spark:ratio=0.8,decode_block=16"); });
  EXPECT_NE(e.find("decode_block"), std::string::npos) << e;
}

// ---- public API ---------------------------------------------------------------------------------

TEST(CacheFileApi, SavedSessionAnswersLikeTheOriginal) {
  const std::string path = std::string(SPARKV_SOURCE_DIR) + "/models/sparkv-tiny-f16.gguf";
  const api::Model m = api::Model::load(path);
  std::string prompt = "The pass key is 31808. Remember it. ";
  for (int i = 0; i < 30; ++i) prompt += "The grass is green. The sky is blue. ";
  prompt += "What is the pass key? The pass key is";
  const auto ids = m.tokenizer().encode(prompt);
  const api::Recipe r = api::Recipe::parse("snapkv:budget=64+spark:ratio=0.8");
  api::Session a(m);
  a.prefill_and_compress(ids, r);
  const std::vector<uint8_t> bytes = a.save_cache();
  const std::string file = testing::TempDir() + "/pc.sparkv";
  a.save_cache_file(file);
  api::GenerateOptions g;
  g.max_tokens = 8;
  const std::string want = a.generate(g).text;
  std::vector<api::Session> loaded;
  loaded.push_back(api::Session::load_cache(m, bytes));
  loaded.push_back(api::Session::load_cache_file(m, file));
  for (api::Session& b : loaded) {
    EXPECT_EQ(b.recipe(), r.spec());
    EXPECT_EQ(b.n_past(), static_cast<int64_t>(ids.size()));
    EXPECT_EQ(b.history(), ids);
    EXPECT_EQ(b.generate(g).text, want);
  }
  EXPECT_NE(test::error_message([&] {
              api::Session::load_cache_file(m, file + ".missing");
            }).find("cannot open"),
            std::string::npos);
}

}  // namespace
}  // namespace sparkv
