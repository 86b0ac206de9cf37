// housenet/tensor.hpp: shape, tensor<T> (owning) and tensor_view<T> (non-owning).
//
// WHAT THIS IS
//   A tensor is a contiguous, 64-byte-aligned, row-major array of up to 4 dimensions. Images and
//   feature maps are NCHW, so element (n, c, h, w) sits at ((n*C + c)*H + h)*W + w (dlib's order).
//   A rank-2 shape {N, F} is a batch of vectors; its c() is F and h() = w() = 1.
//
//   tensor<T> owns its storage, is move-only (copy explicitly with clone()), and resize() reuses
//   the allocation whenever the new size fits its capacity: kernels call resize() on their outputs
//   every step without touching the allocator after the first batch.
//   tensor_view<T> is a pointer plus a shape (parameters are views into one model arena).
//
// THREAD SAFETY
//   Like a std::vector: const access from many threads is safe; any mutation is not.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <new>
#include <ostream>
#include <string>

#include "error.hpp"

HOUSENET_BEGIN_NAMESPACE

// A shape of rank 0..4. Unused trailing dimensions are 1, so n(), c(), h(), w() are always valid.
class shape {
 public:
  static constexpr std::size_t max_rank = 4;

  shape() = default;
  shape(std::initializer_list<std::size_t> dims) {
    HOUSENET_CHECK(dims.size() <= max_rank, "shape: rank ", dims.size(), " > ", max_rank);
    for (std::size_t d : dims) d_[rank_++] = d;
  }
  template <class It>
  static shape from_range(It first, It last) {
    shape s;
    for (; first != last; ++first) {
      HOUSENET_CHECK(s.rank_ < max_rank, "shape: rank > ", max_rank);
      s.d_[s.rank_++] = static_cast<std::size_t>(*first);
    }
    return s;
  }

  std::size_t rank() const { return rank_; }
  std::size_t operator[](std::size_t i) const { return d_[i]; }
  std::size_t& operator[](std::size_t i) { return d_[i]; }
  std::size_t n() const { return d_[0]; }
  std::size_t c() const { return d_[1]; }
  std::size_t h() const { return d_[2]; }
  std::size_t w() const { return d_[3]; }
  // Elements per sample (all dimensions but the first).
  std::size_t sample_size() const { return rank_ == 0 ? 0 : product(1); }
  // Total element count; 0 for rank 0.
  // Both throw when the count does not fit in size_t (a 32-bit size_t, as on wasm32, holds far
  // fewer elements than four dimensions can name): never a silently wrapped size.
  std::size_t size() const { return rank_ == 0 ? 0 : product(0); }
  // Same shape with the first dimension replaced.
  shape with_n(std::size_t n) const {
    shape s = *this;
    s.d_[0] = n;
    return s;
  }

  friend bool operator==(const shape& a, const shape& b) {
    return a.rank_ == b.rank_ && a.d_ == b.d_;
  }
  friend bool operator!=(const shape& a, const shape& b) { return !(a == b); }

  // "1x3x100x100"; "()" for rank 0.
  std::string str() const {
    if (rank_ == 0) return "()";
    std::string s;
    for (std::size_t i = 0; i < rank_; ++i) {
      if (i) s += 'x';
      s += std::to_string(d_[i]);
    }
    return s;
  }
  friend std::ostream& operator<<(std::ostream& os, const shape& s) { return os << s.str(); }

 private:
  std::size_t product(std::size_t first) const {
    std::size_t n = d_[first];
    bool wraps = false;
    for (std::size_t i = first + 1; i < max_rank; ++i) {
#if HOUSENET_GNUC
      wraps |= __builtin_mul_overflow(n, d_[i], &n);
#else
      wraps |= d_[i] != 0 && n > std::size_t(-1) / d_[i];
      n *= d_[i];
#endif
    }
    if (wraps) {
      for (std::size_t i = first; i < max_rank; ++i)
        if (d_[i] == 0) return 0;  // a zero dimension: 0 elements, however wide the others
      detail::fail(detail::concat("shape: ", str(), " has more elements than size_t holds"));
    }
    return n;
  }

  std::array<std::size_t, max_rank> d_{1, 1, 1, 1};
  std::size_t rank_ = 0;
};

namespace detail {
constexpr std::size_t tensor_alignment = 64;

// The largest allocation a tensor or arena may ask for: 1 TiB, or what size_t can count.
constexpr std::uint64_t max_tensor_bytes = std::uint64_t(1) << 40;
// Whether n elements of elem_bytes each stay within max_tensor_bytes (and so within size_t).
constexpr bool fits_max_bytes(std::uint64_t n, std::size_t elem_bytes) {
  return n <= max_tensor_bytes / elem_bytes && n <= std::uint64_t(std::size_t(-1)) / elem_bytes;
}

inline void* aligned_alloc_bytes(std::size_t bytes) {
  if (bytes == 0) return nullptr;
  return ::operator new(bytes, std::align_val_t(tensor_alignment));
}
inline void aligned_free_bytes(void* p) {
  if (p) ::operator delete(p, std::align_val_t(tensor_alignment));
}
}  // namespace detail

// A non-owning view: a pointer and a shape.
template <class T>
class tensor_view {
 public:
  tensor_view() = default;
  tensor_view(T* data, const housenet::shape& s) : data_(data), shape_(s) {}

  T* data() const { return data_; }
  const housenet::shape& shape() const { return shape_; }
  std::size_t size() const { return shape_.size(); }
  T& operator[](std::size_t i) const { return data_[i]; }
  T* begin() const { return data_; }
  T* end() const { return data_ + size(); }

 private:
  T* data_ = nullptr;
  housenet::shape shape_;
};

template <class T>
class tensor {
 public:
  using value_type = T;

  tensor() = default;
  explicit tensor(const housenet::shape& s) { resize(s); }
  tensor(const housenet::shape& s, T value) {
    resize(s);
    fill(value);
  }
  ~tensor() { detail::aligned_free_bytes(data_); }

  tensor(tensor&& o) noexcept : data_(o.data_), capacity_(o.capacity_), shape_(o.shape_) {
    o.data_ = nullptr;
    o.capacity_ = 0;
    o.shape_ = housenet::shape();
  }
  tensor& operator=(tensor&& o) noexcept {
    if (this != &o) {
      detail::aligned_free_bytes(data_);
      data_ = o.data_;
      capacity_ = o.capacity_;
      shape_ = o.shape_;
      o.data_ = nullptr;
      o.capacity_ = 0;
      o.shape_ = housenet::shape();
    }
    return *this;
  }
  tensor(const tensor&) = delete;
  tensor& operator=(const tensor&) = delete;

  tensor clone() const {
    tensor t(shape_);
    if (size()) std::memcpy(t.data_, data_, size() * sizeof(T));
    return t;
  }

  // Sets the shape. Keeps the allocation when it is large enough; contents are then unspecified
  // (the old values, reinterpreted). New storage is not initialised.
  void resize(const housenet::shape& s) {
    const std::size_t n = s.size();
    if (n > capacity_) {
      HOUSENET_CHECK(detail::fits_max_bytes(n, sizeof(T)), "tensor: ", s.str(), " is too large");
      T* p = static_cast<T*>(detail::aligned_alloc_bytes(n * sizeof(T)));
      detail::aligned_free_bytes(data_);
      data_ = p;
      capacity_ = n;
    }
    shape_ = s;
  }

  void fill(T value) { std::fill(data_, data_ + size(), value); }
  void zero() {
    if (size()) std::memset(data_, 0, size() * sizeof(T));
  }

  T* data() { return data_; }
  const T* data() const { return data_; }
  const housenet::shape& shape() const { return shape_; }
  std::size_t size() const { return shape_.size(); }
  std::size_t capacity() const { return capacity_; }
  bool empty() const { return size() == 0; }

  T& operator[](std::size_t i) { return data_[i]; }
  const T& operator[](std::size_t i) const { return data_[i]; }
  T& operator()(std::size_t n, std::size_t c, std::size_t h = 0, std::size_t w = 0) {
    return data_[((n * shape_.c() + c) * shape_.h() + h) * shape_.w() + w];
  }
  const T& operator()(std::size_t n, std::size_t c, std::size_t h = 0, std::size_t w = 0) const {
    return data_[((n * shape_.c() + c) * shape_.h() + h) * shape_.w() + w];
  }

  T* begin() { return data_; }
  T* end() { return data_ + size(); }
  const T* begin() const { return data_; }
  const T* end() const { return data_ + size(); }

  tensor_view<T> view() { return {data_, shape_}; }
  tensor_view<const T> view() const { return {data_, shape_}; }

 private:
  T* data_ = nullptr;
  std::size_t capacity_ = 0;
  housenet::shape shape_;
};

HOUSENET_END_NAMESPACE
