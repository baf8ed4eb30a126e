// TEMPORARY: removed when press/spark_press.cpp lands.
#include "core/error.h"
#include "press/press_factories.h"

namespace sparkv {
std::unique_ptr<Press> make_spark(PressParams& p) { fail("{}: not implemented yet", p.method()); }
}  // namespace sparkv
