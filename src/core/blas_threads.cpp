#include "core/blas_threads.h"

#include <cblas.h>

namespace sparkv {

void ensure_single_threaded_blas() {
  static const bool once = [] {
    openblas_set_num_threads(1);
    return true;
  }();
  (void)once;
}

}  // namespace sparkv
