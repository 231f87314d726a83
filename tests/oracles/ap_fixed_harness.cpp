// Oracle for hwsim's ap_fixed codecs: the real Xilinx ap_fixed headers (as shipped in the
// hls4ml wheel) convert doubles read from stdin; the raw W-bit codes go to stdout.
//
// Input (stdin, little-endian): uint64 n, then n float64 values.
// Output (stdout): for each CONFIG(W, I, SIGNED) of harness_configs.inc, in order, for each
// q-mode in hwsim's order (TRN, TRN_ZERO, RND, RND_ZERO, RND_MIN_INF, RND_INF, RND_CONV) and
// each o-mode (WRAP, SAT, SAT_ZERO, SAT_SYM, WRAP_SM; WRAP_SM skipped for unsigned types):
// n uint64 codes.
#include <cstdint>
#include <cstdio>
#include <vector>

#include "ap_fixed.h"

template <int W, int I, bool S, ap_q_mode Q, ap_o_mode O>
struct Pick {
  typedef ap_fixed<W, I, Q, O> T;
};
template <int W, int I, ap_q_mode Q, ap_o_mode O>
struct Pick<W, I, false, Q, O> {
  typedef ap_ufixed<W, I, Q, O> T;
};

template <int W, int I, bool S, ap_q_mode Q, ap_o_mode O>
void run(const std::vector<double>& xs) {
  if constexpr (!S && O == AP_WRAP_SM) {
    return;  // the header rejects ap_ufixed with AP_WRAP_SM
  } else {
    typedef typename Pick<W, I, S, Q, O>::T T;
    const uint64_t mask = W == 64 ? ~uint64_t(0) : ((uint64_t(1) << W) - 1);
    std::vector<uint64_t> codes(xs.size());
    for (size_t i = 0; i < xs.size(); ++i) {
      T v = xs[i];
      codes[i] = uint64_t(v.bits_to_uint64()) & mask;
    }
    fwrite(codes.data(), sizeof(uint64_t), codes.size(), stdout);
  }
}

template <int W, int I, bool S, ap_q_mode Q>
void run_q(const std::vector<double>& xs) {
  run<W, I, S, Q, AP_WRAP>(xs);
  run<W, I, S, Q, AP_SAT>(xs);
  run<W, I, S, Q, AP_SAT_ZERO>(xs);
  run<W, I, S, Q, AP_SAT_SYM>(xs);
  run<W, I, S, Q, AP_WRAP_SM>(xs);
}

template <int W, int I, bool S>
void run_all(const std::vector<double>& xs) {
  run_q<W, I, S, AP_TRN>(xs);
  run_q<W, I, S, AP_TRN_ZERO>(xs);
  run_q<W, I, S, AP_RND>(xs);
  run_q<W, I, S, AP_RND_ZERO>(xs);
  run_q<W, I, S, AP_RND_MIN_INF>(xs);
  run_q<W, I, S, AP_RND_INF>(xs);
  run_q<W, I, S, AP_RND_CONV>(xs);
}

int main() {
  uint64_t n = 0;
  if (fread(&n, sizeof(n), 1, stdin) != 1) return 1;
  std::vector<double> xs(n);
  if (fread(xs.data(), sizeof(double), n, stdin) != n) return 1;
#define CONFIG(W, I, S) run_all<W, I, S>(xs);
#include "harness_configs.inc"
#undef CONFIG
  return 0;
}
