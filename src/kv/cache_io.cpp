#include "kv/cache_io.h"

#include <algorithm>

#include "kv/dense_cache.h"
#include "kv/layer_io.h"
#include "kv/spark_cache.h"
#include "kv/think_cache.h"

namespace sparkv {

namespace {

enum class Form : uint8_t { kDense = 1, kSpark = 2, kThink = 3 };

constexpr int kMaxHeads = 4096;
constexpr int kMaxHeadDim = 4096;
constexpr int64_t kMaxTokens = int64_t{1} << 31;

KvDtype get_dtype(ByteReader& r, const char* field) {
  return static_cast<KvDtype>(r.get_in<uint8_t>(0, static_cast<uint8_t>(KvDtype::kIQ4_NL), field));
}

void check_size(const ByteReader& r, bool ok, const char* field) {
  if (!ok) fail("{}: {} does not match the cache's shape (corrupt)", r.what(), field);
}

}  // namespace

// Friend of the storage forms: the file layout of each lives here, in one place.
struct CacheIo {
  static void save(const DenseLayerCache& c, ByteWriter& w) {
    w.put<uint8_t>(static_cast<uint8_t>(c.k_type_));
    w.put<uint8_t>(static_cast<uint8_t>(c.v_type_));
    w.put<int32_t>(c.n_kv_);
    w.put<int32_t>(c.D_);
    w.put<int32_t>(c.group_);
    w.put<int64_t>(c.n_);
    for (int h = 0; h < c.n_kv_; ++h)
      for (int64_t t = 0; t < c.n_; ++t) {
        w.raw(c.k_ptr(h, t), c.k_row_);
        w.raw(c.v_ptr(h, t), c.v_row_);
      }
  }

  static std::unique_ptr<DenseLayerCache> load_dense(ByteReader& r) {
    const KvDtype kt = get_dtype(r, "dense K type");
    const KvDtype vt = get_dtype(r, "dense V type");
    const int n_kv = r.get_in<int32_t>(1, kMaxHeads, "dense n_kv");
    const int D = r.get_in<int32_t>(1, kMaxHeadDim, "dense head_dim");
    const int group = r.get_in<int32_t>(1, kMaxHeads, "dense group");
    const int64_t n = r.get_in<int64_t>(0, kMaxTokens, "dense tokens");
    auto c = std::make_unique<DenseLayerCache>(n_kv, D, group, kt, vt);  // checks D for the types
    // The rows must all be there before anything is allocated for them.
    const size_t need = static_cast<size_t>(n) * n_kv * (c->k_row_ + c->v_row_);
    check_size(r, need <= r.left(), "dense row bytes");
    if (n > 0) {
      c->reserve(n);
      c->reserve_pages(n);
      for (int h = 0; h < n_kv; ++h)
        for (int64_t t = 0; t < n; ++t) {
          r.raw(c->k_ptr(h, t), c->k_row_);
          r.raw(c->v_ptr(h, t), c->v_row_);
        }
      c->n_ = n;
    }
    return c;
  }

  static void save(const SparkLayerCache& c, ByteWriter& w) {
    SPARKV_CHECK(!c.planner_,
                 "a SparK cache that still compresses decode blocks (decode_block=) "
                 "cannot be saved: its planner holds the prefill window's statistics");
    w.put<int32_t>(c.n_kv_);
    w.put<int32_t>(c.D_);
    w.put<int32_t>(c.group_);
    const SparkLayout& L = c.layout_;
    w.put<int32_t>(L.k_fixed);
    w.put<uint8_t>(L.signs);
    w.put<uint8_t>(L.scale);
    w.put<int32_t>(L.sampled);
    w.put<uint64_t>(L.sample_key_base);
    w.put<int32_t>(L.v_fixed);
    w.put<uint8_t>(static_cast<uint8_t>(c.storage_.kq));
    w.put<uint8_t>(static_cast<uint8_t>(c.storage_.v_type));
    w.put<uint8_t>(static_cast<uint8_t>(c.storage_.tail.k));
    w.put<uint8_t>(static_cast<uint8_t>(c.storage_.tail.v));
    for (const SparkHeadStore& s : c.heads_) {
      w.put<int64_t>(s.n);
      w.put<int32_t>(s.k_fixed);
      w.put<int32_t>(s.k_stride);
      w.put<int32_t>(s.v_fixed);
      w.vec(s.kmask);
      w.vec(s.kpos);
      w.vec(s.r);
      w.vec(s.tau);
      w.vec(s.kvals);
      w.vec(s.kscale);
      w.vec(s.koffs);
      w.vec(s.w);
      w.vec(s.v);
      w.vec(s.vmask);
      w.vec(s.vvals);
      w.vec(s.vfill);
    }
    save(c.tail_, w);
  }

  static std::unique_ptr<SparkLayerCache> load_spark(ByteReader& r) {
    const int n_kv = r.get_in<int32_t>(1, kMaxHeads, "spark n_kv");
    const int D = r.get_in<int32_t>(8, kMaxHeadDim, "spark head_dim");
    const int group = r.get_in<int32_t>(1, kMaxHeads, "spark group");
    check_size(r, D % 8 == 0, "spark head_dim (a multiple of 8)");
    SparkLayout L;
    L.k_fixed = r.get_in<int32_t>(0, D, "spark k_fixed");
    L.signs = r.get_in<uint8_t>(0, 1, "spark signs") != 0;
    L.scale = r.get_in<uint8_t>(0, 1, "spark scale") != 0;
    L.sampled = r.get_in<int32_t>(0, 2, "spark sampled");
    L.sample_key_base = r.get<uint64_t>();
    L.v_fixed = r.get_in<int32_t>(0, D, "spark v_fixed");
    SparkStorage st;
    st.kq = static_cast<SparkKeyQuant>(r.get_in<uint8_t>(0, 2, "spark key form"));
    st.v_type = get_dtype(r, "spark value type");
    st.tail.k = get_dtype(r, "spark tail K type");
    st.tail.v = get_dtype(r, "spark tail V type");
    check_size(r, st.kq == SparkKeyQuant::kF16 || L.sampled == 0,
               "spark key form of a sampled recovery");
    std::unique_ptr<SparkLayerCache> c(new SparkLayerCache(n_kv, D, group, L, st));
    const size_t nb = static_cast<size_t>(D) / 8;
    for (SparkHeadStore& s : c->heads_) {
      s.n = r.get_in<int64_t>(0, kMaxTokens, "spark tokens");
      s.k_fixed = r.get_in<int32_t>(0, D, "spark head k_fixed");
      s.k_stride = r.get_in<int32_t>(0, D + 1, "spark k_stride");
      s.v_fixed = r.get_in<int32_t>(0, D, "spark head v_fixed");
      s.kmask = r.vec<uint8_t>();
      s.kpos = r.vec<uint8_t>();
      s.r = r.vec<uint16_t>();
      s.tau = r.vec<uint16_t>();
      s.kvals = r.vec<uint8_t>();
      s.kscale = r.vec<uint16_t>();
      s.koffs = r.vec<uint32_t>();
      s.w = r.vec<float>();
      s.v = r.vec<uint8_t>();
      s.vmask = r.vec<uint8_t>();
      s.vvals = r.vec<uint16_t>();
      s.vfill = r.vec<uint16_t>();
      validate(r, s, L, st, D, nb);
    }
    for (const SparkHeadStore& s : c->heads_)
      check_size(r, s.n == c->heads_[0].n, "spark per-head token count");
    auto tail = load_dense(r);
    check_size(r,
               tail->n_kv() == n_kv && tail->head_dim() == D && tail->group() == group &&
                   tail->k_type() == st.tail.k && tail->v_type() == st.tail.v,
               "spark tail shape");
    c->tail_ = std::move(*tail);
    return c;
  }

  // What the attention kernels rely on (attn/spark_decode.h): sizes per token, kept counts that
  // match the masks, offsets inside the stream. A file that passes its checksum but was written
  // by something else must still not make a kernel read out of bounds.
  static void validate(const ByteReader& r, const SparkHeadStore& s, const SparkLayout& L,
                       const SparkStorage& st, int D, size_t nb) {
    const auto n = static_cast<size_t>(s.n);
    auto kept = [&](const std::vector<uint8_t>& mask, size_t t) {
      return static_cast<size_t>(
          spark_kept(mask.data(), static_cast<int64_t>(t), static_cast<int>(nb)));
    };
    check_size(r, s.k_fixed == L.k_fixed && s.v_fixed == L.v_fixed, "spark head layout");
    check_size(r, s.kmask.size() == n * nb, "spark key mask");
    check_size(r, s.kpos.size() == (L.signs ? n * nb : 0), "spark signs");
    check_size(r, s.r.size() == (L.scale ? n : 0), "spark scales");
    check_size(r, s.tau.size() == (L.sampled ? n : 0), "spark sampled scales");
    check_size(r, s.kscale.size() == (st.kq != SparkKeyQuant::kF16 ? n : 0), "spark key scales");
    check_size(
        r, s.w.size() == (n > 0 ? static_cast<size_t>(D) : s.w.size()) && s.w.size() <= size_t(D),
        "spark channel weights");
    size_t elems = 0;
    if (L.k_fixed > 0) {
      check_size(r, s.k_stride == spark_stream_elems(st.kq, L.k_fixed) && s.koffs.empty(),
                 "spark key stride");
      for (size_t t = 0; t < n; ++t)
        check_size(r, kept(s.kmask, t) == static_cast<size_t>(L.k_fixed),
                   "spark kept channels per token");
      elems = n * static_cast<size_t>(s.k_stride);
    } else {
      check_size(r, s.koffs.size() == n + 1 && s.koffs[0] == 0, "spark key offsets");
      for (size_t t = 0; t < n; ++t) {
        const auto step = static_cast<size_t>(spark_stream_elems(st.kq, kept(s.kmask, t)));
        check_size(r, s.koffs[t + 1] >= s.koffs[t] && s.koffs[t + 1] - s.koffs[t] == step,
                   "spark key offsets");
      }
      elems = s.koffs[n];
    }
    check_size(r, s.kvals.size() == spark_stream_bytes(st.kq, elems) + kSparkPadBytes,
               "spark key values");
    if (L.v_fixed > 0) {
      check_size(r,
                 s.v.empty() && s.vmask.size() == n * nb && s.vfill.size() == n &&
                     s.vvals.size() == n * L.v_fixed + kSparkPad,
                 "spark pruned values");
      for (size_t t = 0; t < n; ++t)
        check_size(r, kept(s.vmask, t) == static_cast<size_t>(L.v_fixed),
                   "spark kept value channels per token");
    } else {
      check_size(r,
                 s.v.size() == n * kv_row_bytes(st.v_type, D) && s.vmask.empty() &&
                     s.vvals.empty() && s.vfill.empty(),
                 "spark values");
    }
  }

  static void save(const ThinkLayerCache& c, ByteWriter& w) {
    w.put<int32_t>(c.n_kv_);
    w.put<int32_t>(c.D_);
    w.put<int32_t>(c.group_);
    w.put<uint8_t>(static_cast<uint8_t>(c.dtype_));
    for (const auto& ch : c.channels_) w.vec(ch);
    const int64_t np = std::max<int64_t>(c.n_pruned_, 0);
    w.put<int64_t>(np);
    for (int h = 0; h < c.n_kv_; ++h) {
      w.raw(c.pk_[h].get(), static_cast<size_t>(np) * c.dk_ * c.esize());
      w.raw(c.pv_[h].get(), static_cast<size_t>(np) * c.D_ * c.esize());
    }
    // The tail as f32 rows, token-major as append() takes them (f16 -> f32 -> f16 is exact).
    w.put<int64_t>(c.n_tail_);
    std::vector<float> k(c.D_), v(c.D_);
    for (int64_t t = 0; t < c.n_tail_; ++t)
      for (int h = 0; h < c.n_kv_; ++h) {
        c.read(h, np + t, k.data(), v.data());
        w.raw(k.data(), k.size() * 4);
        w.raw(v.data(), v.size() * 4);
      }
  }

  static std::unique_ptr<ThinkLayerCache> load_think(ByteReader& r) {
    const int n_kv = r.get_in<int32_t>(1, kMaxHeads, "think n_kv");
    const int D = r.get_in<int32_t>(1, kMaxHeadDim, "think head_dim");
    const int group = r.get_in<int32_t>(1, kMaxHeads, "think group");
    const KvDtype dt = get_dtype(r, "think element type");
    std::vector<std::vector<int32_t>> channels(n_kv);
    for (auto& ch : channels) ch = r.vec<int32_t>();
    auto c = std::make_unique<ThinkLayerCache>(n_kv, D, group, dt, std::move(channels));
    const int64_t np = r.get_in<int64_t>(0, kMaxTokens, "think pruned tokens");
    const size_t per_head = static_cast<size_t>(np) * (c->dk_ + D) * c->esize();
    check_size(r, per_head * n_kv <= r.left(), "think pruned bytes");
    for (int h = 0; h < n_kv; ++h) {
      c->n_pruned_ = np;
      c->pk_[h].reset(new uint8_t[static_cast<size_t>(np) * c->dk_ * c->esize()]);
      c->pv_[h].reset(new uint8_t[static_cast<size_t>(np) * D * c->esize()]);
      r.raw(c->pk_[h].get(), static_cast<size_t>(np) * c->dk_ * c->esize());
      r.raw(c->pv_[h].get(), static_cast<size_t>(np) * D * c->esize());
    }
    const int64_t nt = r.get_in<int64_t>(0, kMaxTokens, "think tail tokens");
    const size_t row = static_cast<size_t>(n_kv) * D;
    check_size(r, static_cast<size_t>(nt) * row * 8 <= r.left(), "think tail bytes");
    std::vector<float> k(row), v(row);
    for (int64_t t = 0; t < nt; ++t) {
      for (int h = 0; h < n_kv; ++h) {
        r.raw(k.data() + static_cast<size_t>(h) * D, static_cast<size_t>(D) * 4);
        r.raw(v.data() + static_cast<size_t>(h) * D, static_cast<size_t>(D) * 4);
      }
      c->append(k.data(), v.data(), 1);
    }
    return c;
  }
};

void save_layer_cache(const LayerCache& c, ByteWriter& w) {
  if (const auto* d = dynamic_cast<const DenseLayerCache*>(&c)) {
    w.put<uint8_t>(static_cast<uint8_t>(Form::kDense));
    CacheIo::save(*d, w);
  } else if (const auto* s = dynamic_cast<const SparkLayerCache*>(&c)) {
    w.put<uint8_t>(static_cast<uint8_t>(Form::kSpark));
    CacheIo::save(*s, w);
  } else if (const auto* t = dynamic_cast<const ThinkLayerCache*>(&c)) {
    w.put<uint8_t>(static_cast<uint8_t>(Form::kThink));
    CacheIo::save(*t, w);
  } else {
    fail("a '{}' KV cache cannot be saved", c.kind());
  }
}

std::unique_ptr<LayerCache> load_layer_cache(ByteReader& r) {
  const auto form = static_cast<Form>(r.get_in<uint8_t>(1, 3, "storage form"));
  switch (form) {
    case Form::kDense:
      return CacheIo::load_dense(r);
    case Form::kSpark:
      return CacheIo::load_spark(r);
    case Form::kThink:
      return CacheIo::load_think(r);
  }
  fail("{}: unknown storage form", r.what());
}

}  // namespace sparkv
