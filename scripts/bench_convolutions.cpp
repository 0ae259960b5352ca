// Times oneDNN forward convolutions (3x3, stride 1, padding 1, ReLU post-op, blocked layouts) on their own:
//   classic  the classic U-Net's convolutions at base 64, 256x256 (concatenations split), per data type and
//            algorithm: fp32 direct, fp32 Winograd, bf16 direct, int8 (u8 x s8) direct and Winograd;
//   sweep    fp32 Winograd against bf16 direct over widths and sizes (the precision-regions rule);
//   winograd fp32 Winograd against fp32 direct on small maps;
//   int8     int8 Winograd against int8 direct over widths and sizes (oneDNN 2.x's F(2x2, 3x3) VNNI kernel; 3.x has none).
// Builds against oneDNN 2.x or 3.x (scripts/bench_onednn.sh builds and runs both); prints milliseconds per
// convolution, best of a timed loop of at least 0.3 s.
#include <dnnl.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

struct Variant { const char* name; dt source, weights, destination; algorithm algo; };

// Milliseconds per run of one convolution, or -1 where this oneDNN has no such primitive.
static double timeConvolution(engine& eng, stream& s, int n, int ic, int oc, int hw, const Variant& v, std::string& impl) {
    memory::dims src{n, ic, hw, hw}, wei{oc, ic, 3, 3}, bia{oc}, dst{n, oc, hw, hw};
    // The layouts unet runs: floating-point maps in 16-channel blocks (the 3-channel image as it comes), int8 NHWC.
    const bool int8 = v.source == dt::u8;
    const tag map = int8 ? tag::acdb : tag::aBcd16b;
    memory::desc sm(src, v.source, ic % 16 == 0 || int8 ? map : tag::abcd), wm(wei, v.weights, tag::any), bm(bia, dt::f32, tag::x),
        dm(dst, v.destination, map);
    primitive_attr attr;
    post_ops ops;
#if DNNL_VERSION_MAJOR >= 3
    ops.append_eltwise(algorithm::eltwise_relu, 0.f, 0.f);
    if (int8) attr.set_scales_mask(DNNL_ARG_WEIGHTS, 1);
#else
    ops.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
    if (int8) attr.set_output_scales(2, std::vector<float>(oc, 0.01f));
#endif
    attr.set_post_ops(ops);
    attr.set_scratchpad_mode(scratchpad_mode::user);
    // fp32 Winograd in its training variant (weights transformed on the fly), as unet runs it; int8 Winograd has only
    // the inference one (weights transformed once).
    const prop_kind kind = v.algo == algorithm::convolution_winograd && !int8 ? prop_kind::forward_training : prop_kind::forward_inference;
    try {
#if DNNL_VERSION_MAJOR >= 3
        convolution_forward::primitive_desc pd(eng, kind, v.algo, sm, wm, bm, dm, {1, 1}, {1, 1}, {1, 1}, attr);
#else
        convolution_forward::primitive_desc pd(convolution_forward::desc(kind, v.algo, sm, wm, bm, dm, {1, 1}, {1, 1}, {1, 1}), attr, eng);
#endif
        impl = pd.impl_info_str();
        memory S(pd.src_desc(), eng), W(pd.weights_desc(), eng), B(bm, eng), D(pd.dst_desc(), eng), P(pd.scratchpad_desc(), eng);
        for (auto* m : {&S, &W, &B}) std::memset(m->get_data_handle(), 0, m->get_desc().get_size());
        std::unordered_map<int, memory> args{{DNNL_ARG_SRC, S}, {DNNL_ARG_WEIGHTS, W}, {DNNL_ARG_BIAS, B}, {DNNL_ARG_DST, D}, {DNNL_ARG_SCRATCHPAD, P}};
#if DNNL_VERSION_MAJOR >= 3
        memory scales({{oc}, dt::f32, tag::x}, eng);
        if (int8) args.insert({DNNL_ARG_ATTR_SCALES | DNNL_ARG_WEIGHTS, scales});
#endif
        convolution_forward conv(pd);
        for (int i = 0; i < 2; ++i) conv.execute(s, args);
        s.wait();
        int runs = 0;
        double elapsed = 0;
        const auto start = std::chrono::steady_clock::now();
        do {
            conv.execute(s, args);
            s.wait();
            ++runs;
            elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        } while (elapsed < 0.3);
        return elapsed / runs * 1e3;
    } catch (error&) {
        impl = "none";
        return -1;
    }
}

// A table cell: `t` in `format`, or "—" where there is none (this oneDNN lacks the primitive).
static std::string cell(double t, const char* format) {
    if (t <= 0) return "—";
    char text[32];
    std::snprintf(text, sizeof text, format, t);
    return text;
}

// One row of a two-way table: each side's milliseconds and their ratio.
static void printPair(int c, int hw, int n, double first, double second) {
    std::printf("| %d | %d | %d | %s | %s | %s |\n", c, hw, n, cell(first, "%.3f").c_str(), cell(second, "%.3f").c_str(),
                cell(first > 0 && second > 0 ? first / second : -1, "%.2f").c_str());
}

int main(int argc, char** argv) {
    const std::string mode = argc > 1 ? argv[1] : "classic";
    engine eng(engine::kind::cpu, 0);
    stream s(eng);
    const Variant f32{"fp32 direct", dt::f32, dt::f32, dt::f32, algorithm::convolution_direct};
    const Variant wino{"fp32 Winograd", dt::f32, dt::f32, dt::f32, algorithm::convolution_winograd};
    const Variant bf16{"bf16 direct", dt::bf16, dt::bf16, dt::bf16, algorithm::convolution_direct};
    const Variant int8{"int8 direct", dt::u8, dt::s8, dt::u8, algorithm::convolution_direct};
    const Variant int8Wino{"int8 Winograd", dt::u8, dt::s8, dt::u8, algorithm::convolution_winograd};
    std::printf("oneDNN %d.%d.%d\n", DNNL_VERSION_MAJOR, DNNL_VERSION_MINOR, DNNL_VERSION_PATCH);
    std::string impl;
    if (mode == "classic") {
        // (in, out, size): the encoder, then each decoder block's two halves of its first convolution and its second.
        const int layers[][3] = {{3, 64, 256}, {64, 64, 256}, {64, 128, 128}, {128, 128, 128}, {128, 256, 64}, {256, 256, 64},
            {256, 512, 32}, {512, 512, 32}, {512, 1024, 16}, {1024, 1024, 16}, {512, 512, 32}, {512, 512, 32}, {512, 512, 32},
            {256, 256, 64}, {256, 256, 64}, {256, 256, 64}, {128, 128, 128}, {128, 128, 128}, {128, 128, 128},
            {64, 64, 256}, {64, 64, 256}, {64, 64, 256}};
        const Variant variants[] = {f32, wino, bf16, int8, int8Wino};
        double total[5] = {0, 0, 0, 0, 0}, best = 0;
        std::printf("| in | out | size | fp32 direct ms | fp32 Winograd ms | bf16 direct ms | int8 ms | int8 Winograd ms |\n"
                    "| --- | --- | --- | --- | --- | --- | --- | --- |\n");
        for (auto& l : layers) {
            std::printf("| %d | %d | %d |", l[0], l[1], l[2]);
            double fastestFloat = 1e9;
            for (int v = 0; v < 5; ++v) {
                const double t = timeConvolution(eng, s, 1, l[0], l[1], l[2], variants[v], impl);
                total[v] += t > 0 ? t : 0;
                if (v < 3 && t > 0 && t < fastestFloat) fastestFloat = t;
                std::printf(t > 0 ? " %.2f (%s) |" : " — |", t, impl.c_str());
            }
            best += fastestFloat;
            std::printf("\n");
        }
        std::printf("| sum | | | %.1f | %.1f | %.1f | %.1f | %.1f |\nfastest floating-point choice per convolution: %.1f ms\n",
                    total[0], total[1], total[2], total[3], total[4], best);
    } else if (mode == "winograd") {
        // Where fp32 Winograd beats fp32 direct: small maps hold few of its 4x4 output tiles.
        std::printf("| channels | size | batch | fp32 Winograd ms | fp32 direct ms | Winograd / direct |\n| --- | --- | --- | --- | --- | --- |\n");
        for (int n : {1, 2, 8}) for (int c : {64, 128, 256, 512, 1024}) for (int hw : {4, 8, 16, 32}) {
            const double flops = 2.0 * n * hw * hw * c * c * 9;
            if (flops > 5e10 || flops < 1e7) continue;
            const double w = timeConvolution(eng, s, n, c, c, hw, wino, impl);
            const double d = timeConvolution(eng, s, n, c, c, hw, f32, impl);
            printPair(c, hw, n, w, d);
        }
    } else if (mode == "int8") {
        // Where int8 Winograd beats int8 direct (Conv2dKernel.suitsInt8Winograd).
        std::printf("| channels | size | batch | int8 Winograd ms | int8 direct ms | Winograd / direct |\n| --- | --- | --- | --- | --- | --- |\n");
        for (int n : {1, 4}) for (int c : {64, 128, 256, 512, 1024}) for (int hw : {8, 16, 32, 64, 128}) {
            const double flops = 2.0 * n * hw * hw * c * c * 9;
            if (flops > 5e10 || flops < 1e7) continue;
            const double w = timeConvolution(eng, s, n, c, c, hw, int8Wino, impl);
            const double d = timeConvolution(eng, s, n, c, c, hw, int8, impl);
            printPair(c, hw, n, w, d);
        }
    } else {
        std::printf("| channels | size | batch | fp32 Winograd ms | bf16 direct ms | Winograd / bf16 |\n| --- | --- | --- | --- | --- | --- |\n");
        for (int n : {1, 8}) for (int c : {32, 64, 128, 256, 512, 1024}) for (int hw : {8, 16, 32, 64, 128, 256}) {
            const double flops = 2.0 * n * hw * hw * c * c * 9;
            if (flops > 5e10 || flops < 2e7) continue;
            const double w = timeConvolution(eng, s, n, c, c, hw, wino, impl);
            const double b = timeConvolution(eng, s, n, c, c, hw, bf16, impl);
            printPair(c, hw, n, w, b);
        }
    }
}
