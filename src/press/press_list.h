// The registered press methods, one line each (see press/press_registry.h). Each names a
// `const PressMethod <id>_press` defined in the press's own file. No include guard: included twice
// by press_registry.cpp with different definitions of SPARKV_PRESS.
SPARKV_PRESS(snapkv)
SPARKV_PRESS(pyramidkv)
SPARKV_PRESS(streamingllm)
SPARKV_PRESS(h2o)
SPARKV_PRESS(tova)
SPARKV_PRESS(knorm)
SPARKV_PRESS(random)
SPARKV_PRESS(expected)
SPARKV_PRESS(think)
SPARKV_PRESS(spark)
SPARKV_PRESS(quant)
SPARKV_PRESS(vnorm)
