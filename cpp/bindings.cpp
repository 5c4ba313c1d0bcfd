// Python bindings of the fused preprocessing core: edge._fastpath. Only conversion and checks
// live here; the work is in preprocess.cpp / batch.cpp, with the GIL released.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "batch.hpp"
#include "preprocess.hpp"
#include "thread_pool.hpp"

namespace py = pybind11;
using peakline::Frame;
using peakline::Roi;
using peakline::Spec;

namespace {

template <typename E>
E parse_enum(const std::string& value, const char* name,
             std::initializer_list<std::pair<const char*, E>> options) {
  std::string names;
  for (const auto& [key, e] : options) {
    if (value == key) return e;
    names += names.empty() ? "" : ", ";
    names += key;
  }
  throw std::invalid_argument(std::string(name) + " must be one of " + names + "; got '" +
                              value + "'");
}

Spec make_spec(int width, int height, const std::string& color, double scale,
               std::vector<double> mean, std::vector<double> std, const std::string& resize,
               const std::string& fit, int fill, const std::string& output) {
  using namespace peakline;
  Spec s;
  s.width = width;
  s.height = height;
  s.color = parse_enum<Color>(color, "color",
                              {{"rgb", Color::RGB}, {"bgr", Color::BGR}, {"gray", Color::Gray}});
  s.scale = scale;
  s.mean = std::move(mean);
  s.std = std::move(std);
  s.resize = parse_enum<ResizeMode>(resize, "resize",
                                    {{"linear", ResizeMode::Linear}, {"area", ResizeMode::Area}});
  s.fit = parse_enum<Fit>(fit, "fit", {{"stretch", Fit::Stretch}, {"letterbox", Fit::Letterbox}});
  s.fill = fill;
  s.output = parse_enum<OutputType>(
      output, "output", {{"float32", OutputType::Float32}, {"uint8", OutputType::UInt8}});
  s.validate();
  return s;
}

std::string shape_of(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) s += (i ? ", " : "") + std::to_string(a.shape(i));
  return s + (a.ndim() == 1 ? ",)" : ")");
}

std::string dtype_of(const py::array& a) { return py::str(a.dtype()).cast<std::string>(); }


// Checks one frame (uint8, C-contiguous, H x W x 3) and describes it; nothing is copied.
Frame frame_of(const py::handle& obj, const std::string& what) {
  if (!py::isinstance<py::array>(obj)) {
    throw std::invalid_argument(what + " must be a numpy array, got " +
                                py::str(py::type::of(obj).attr("__name__")).cast<std::string>());
  }
  auto a = py::reinterpret_borrow<py::array>(obj);
  if (!a.dtype().is(py::dtype::of<std::uint8_t>())) {
    throw std::invalid_argument(what + " has dtype " + dtype_of(a) + "; frames must be uint8 BGR");
  }
  if (a.ndim() != 3 || a.shape(2) != 3) {
    throw std::invalid_argument(what + " has shape " + shape_of(a) +
                                "; frames must be H x W x 3 (BGR)");
  }
  if (!(a.flags() & py::array::c_style)) {
    throw std::invalid_argument(what + " is not C-contiguous (a strided view); pass "
                                "np.ascontiguousarray(frame) so no hidden copy is made");
  }
  if (a.shape(0) == 0 || a.shape(1) == 0) {
    throw std::invalid_argument(what + " is empty: shape " + shape_of(a));
  }
  if (a.shape(0) > INT32_MAX / 4 || a.shape(1) > INT32_MAX / 4) {
    throw std::invalid_argument(what + " is too large: shape " + shape_of(a));
  }
  Frame f;
  f.data = static_cast<const std::uint8_t*>(a.data());
  f.height = static_cast<int>(a.shape(0));
  f.width = static_cast<int>(a.shape(1));
  f.row_stride = static_cast<std::ptrdiff_t>(a.strides(0));
  return f;
}

// Reads (N, 4) int64 x, y, w, h.
std::vector<Roi> rois_of(const py::array_t<std::int64_t, py::array::c_style>& rois) {
  if (rois.ndim() != 2 || rois.shape(1) != 4) {
    throw std::invalid_argument("rois must have shape (N, 4) as x, y, w, h; got " +
                                shape_of(rois));
  }
  std::vector<Roi> out(static_cast<std::size_t>(rois.shape(0)));
  auto r = rois.unchecked<2>();
  for (py::ssize_t i = 0; i < rois.shape(0); ++i) {
    for (int j = 0; j < 4; ++j) {
      if (r(i, j) < INT32_MIN || r(i, j) > INT32_MAX) {
        throw std::invalid_argument("roi " + std::to_string(i) + " has an out-of-range value");
      }
    }
    out[i] = Roi{static_cast<int>(r(i, 0)), static_cast<int>(r(i, 1)), static_cast<int>(r(i, 2)),
                 static_cast<int>(r(i, 3))};
  }
  return out;
}

// Checks a caller's `out` buffer (>= n, C, H, W), C-contiguous, of the spec's dtype.
py::array check_out(const py::array& out, std::size_t n, const Spec& spec) {
  const bool f32 = spec.output == peakline::OutputType::Float32;
  const char* want = f32 ? "float32" : "uint8";
  const bool dtype_ok = f32 ? out.dtype().is(py::dtype::of<float>())
                            : out.dtype().is(py::dtype::of<std::uint8_t>());
  if (!dtype_ok) {
    throw std::invalid_argument("out has dtype " + dtype_of(out) + "; the spec writes " + want);
  }
  const bool shape_ok = out.ndim() == 4 && static_cast<std::size_t>(out.shape(0)) >= n &&
                        out.shape(1) == spec.channels() && out.shape(2) == spec.height &&
                        out.shape(3) == spec.width;
  if (!shape_ok) {
    throw std::invalid_argument("out has shape " + shape_of(out) + "; need (>=" +
                                std::to_string(n) + ", " + std::to_string(spec.channels()) + ", " +
                                std::to_string(spec.height) + ", " + std::to_string(spec.width) +
                                ")");
  }
  if (!(out.flags() & py::array::c_style)) {
    throw std::invalid_argument("out is not C-contiguous");
  }
  if (!out.writeable()) throw std::invalid_argument("out is read-only");
  return out;
}

py::array alloc_out(std::size_t n, const Spec& spec) {
  std::vector<py::ssize_t> shape{static_cast<py::ssize_t>(n), spec.channels(), spec.height,
                                 spec.width};
  if (spec.output == peakline::OutputType::Float32) return py::array_t<float>(shape);
  return py::array_t<std::uint8_t>(shape);
}

py::array preprocess(const py::sequence& frames, const py::array_t<std::int64_t, py::array::c_style>& rois,
                     const py::object& frame_index, const Spec& spec, const py::object& out,
                     unsigned threads) {
  spec.validate();
  const std::size_t n_frames = py::len(frames);
  if (n_frames == 0) throw std::invalid_argument("no frames given");
  std::vector<Frame> fr(n_frames);
  for (std::size_t i = 0; i < n_frames; ++i) {
    fr[i] = frame_of(frames[i], "frame " + std::to_string(i));
  }
  const std::vector<Roi> roi = rois_of(rois);
  const std::size_t n = roi.size();
  std::vector<std::int64_t> index(n, 0);
  if (!frame_index.is_none()) {
    auto fi = py::array_t<std::int64_t, py::array::c_style>::ensure(frame_index);
    if (!fi || fi.ndim() != 1 || static_cast<std::size_t>(fi.shape(0)) != n) {
      throw std::invalid_argument("frame_index must be a 1-D integer array with one entry per roi (" +
                                  std::to_string(n) + ")");
    }
    for (std::size_t i = 0; i < n; ++i) {
      index[i] = fi.at(static_cast<py::ssize_t>(i));
      if (index[i] < 0 || static_cast<std::size_t>(index[i]) >= n_frames) {
        throw std::invalid_argument("frame_index[" + std::to_string(i) + "] = " +
                                    std::to_string(index[i]) + " but there are " +
                                    std::to_string(n_frames) + " frames");
      }
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    peakline::check_roi(fr[index[i]], roi[i], "roi " + std::to_string(i));
  }
  py::array result = out.is_none() ? alloc_out(n, spec)
                                   : check_out(py::reinterpret_borrow<py::array>(out), n, spec);
  auto* base = static_cast<std::uint8_t*>(result.mutable_data());
  std::vector<peakline::Item> items(n);
  for (std::size_t i = 0; i < n; ++i) {
    items[i] = peakline::Item{&fr[index[i]], roi[i], base + i * spec.item_bytes()};
  }
  {
    py::gil_scoped_release release;
    peakline::preprocess_items(items.data(), n, spec, peakline::shared_pool(), threads);
  }
  if (static_cast<std::size_t>(result.shape(0)) != n) {
    result = result[py::slice(0, static_cast<py::ssize_t>(n), 1)];
  }
  return result;
}

}  // namespace

void init_preprocess(py::module_& m) {
  py::class_<Spec>(m, "Spec", "Validated preprocessing spec (see edge.fastpath.PreprocessSpec).")
      .def(py::init(&make_spec), py::arg("width"), py::arg("height"), py::arg("color") = "rgb",
           py::arg("scale") = 1.0 / 255.0, py::arg("mean") = std::vector<double>{0, 0, 0},
           py::arg("std") = std::vector<double>{1, 1, 1}, py::arg("resize") = "linear",
           py::arg("fit") = "stretch", py::arg("fill") = 114, py::arg("output") = "float32")
      .def_property_readonly("width", [](const Spec& s) { return s.width; })
      .def_property_readonly("height", [](const Spec& s) { return s.height; })
      .def_property_readonly("channels", &Spec::channels);

  m.def("preprocess", &preprocess, py::arg("frames"), py::arg("rois").noconvert(),
        py::arg("frame_index"), py::arg("spec"), py::arg("out"), py::arg("threads") = 0,
        "Crop, resize, convert and normalise every roi into an (N, C, H, W) array.");
  m.def(
      "letterbox_geometry",
      [](int src_w, int src_h, const Spec& spec) {
        if (src_w <= 0 || src_h <= 0) throw std::invalid_argument("source size must be >= 1");
        const auto g = peakline::geometry(src_w, src_h, spec);
        return py::make_tuple(g.scale, g.pad_x, g.pad_y);
      },
      py::arg("src_w"), py::arg("src_h"), py::arg("spec"),
      "(scale, pad_x, pad_y) of the letterbox placement of a src_w x src_h region.");
  m.def("kernel", &peakline::kernel_name, "Row kernel in use: 'avx2' or 'baseline'.");
  m.def("set_kernel", &peakline::set_kernel, py::arg("name"),
        "Force the row kernel (name: 'baseline', 'avx2') or restore the CPU's pick ('auto').");
  m.def("default_threads", &peakline::ThreadPool::default_threads,
        "Threads used when threads=0 (the machine's hardware concurrency).");
}

namespace {

double timeout_of(const py::object& timeout) {
  if (timeout.is_none()) return -1.0;
  const double t = timeout.cast<double>();
  if (!(t >= 0)) throw std::invalid_argument("timeout must be None or >= 0 seconds");
  return t;
}

Roi roi_of(const py::object& roi) {
  auto a = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>::ensure(roi);
  if (!a || a.size() != 4) {
    throw std::invalid_argument("roi must be 4 integers x, y, w, h");
  }
  return rois_of(a.reshape({1, 4}))[0];
}

}  // namespace

void init_batch(py::module_& m) {
  using peakline::BatchAssembler;
  py::class_<BatchAssembler>(m, "BatchAssembler",
                             "Ring of preallocated batch buffers (see edge.fastpath).")
      .def(py::init([](const Spec& spec, int batch_size, double max_wait_ms, int slots,
                       unsigned threads) {
             return new BatchAssembler(spec, batch_size, max_wait_ms / 1000.0, slots, threads);
           }),
           py::arg("spec"), py::arg("batch_size"), py::arg("max_wait_ms"), py::arg("slots") = 3,
           py::arg("threads") = 0)
      .def(
          "add",
          [](BatchAssembler& self, const py::object& frame, const py::object& roi,
             std::int64_t tag, const py::object& timeout) {
            const Frame f = frame_of(frame, "frame");
            const Roi r = roi_of(roi);
            peakline::check_roi(f, r, "roi");
            const double t = timeout_of(timeout);
            py::gil_scoped_release release;
            return self.add(f, r, tag, t);
          },
          py::arg("frame"), py::arg("roi"), py::arg("tag"), py::arg("timeout") = py::none())
      .def(
          "add_many",
          [](BatchAssembler& self, const py::object& frame,
             const py::array_t<std::int64_t, py::array::c_style>& rois,
             const py::array_t<std::int64_t, py::array::c_style>& tags,
             const py::object& timeout) {
            const Frame f = frame_of(frame, "frame");
            const std::vector<Roi> r = rois_of(rois);
            if (tags.ndim() != 1 || static_cast<std::size_t>(tags.shape(0)) != r.size()) {
              throw std::invalid_argument("tags must be 1-D with one entry per roi (" +
                                          std::to_string(r.size()) + ")");
            }
            for (std::size_t i = 0; i < r.size(); ++i) {
              peakline::check_roi(f, r[i], "roi " + std::to_string(i));
            }
            const double t = timeout_of(timeout);
            const std::int64_t* tg = tags.data();
            py::gil_scoped_release release;
            return self.add_many(f, r.data(), tg, r.size(), t);
          },
          py::arg("frame"), py::arg("rois").noconvert(), py::arg("tags").noconvert(),
          py::arg("timeout") = py::none())
      .def(
          "next_batch",
          [](BatchAssembler& self, const py::object& timeout) -> py::object {
            const double t = timeout_of(timeout);
            BatchAssembler::Ready ready;
            bool ok;
            {
              py::gil_scoped_release release;
              ok = self.next_batch(t, &ready);
            }
            if (!ok) return py::none();
            return py::make_tuple(ready.slot, ready.count, ready.first_added);
          },
          py::arg("timeout") = py::none(),
          "(slot, count, first_added) of the next ready batch, or None on timeout/closed.")
      .def(
          "batch_array",
          [](py::object self_obj, int slot, int count) {
            auto& self = self_obj.cast<BatchAssembler&>();
            if (slot < 0 || slot >= self.slots() || count < 0 || count > self.batch_size()) {
              throw std::invalid_argument("no such slot/count");
            }
            const Spec& s = self.spec();
            std::vector<py::ssize_t> shape{count, s.channels(), s.height, s.width};
            const py::dtype dt = s.output == peakline::OutputType::Float32
                                     ? py::dtype::of<float>()
                                     : py::dtype::of<std::uint8_t>();
            // A view of the slot's memory; the assembler stays alive while the view does.
            return py::array(dt, shape, self.slot_data(slot), self_obj);
          },
          py::arg("slot"), py::arg("count"))
      .def(
          "batch_tags",
          [](const BatchAssembler& self, int slot, int count) {
            if (slot < 0 || slot >= self.slots() || count < 0 || count > self.batch_size()) {
              throw std::invalid_argument("no such slot/count");
            }
            py::array_t<std::int64_t> tags(count);
            std::copy(self.slot_tags(slot), self.slot_tags(slot) + count, tags.mutable_data());
            return tags;
          },
          py::arg("slot"), py::arg("count"))
      .def("release", &BatchAssembler::release, py::arg("slot"))
      .def("flush", &BatchAssembler::flush)
      .def("close", &BatchAssembler::close, py::call_guard<py::gil_scoped_release>())
      .def_property_readonly("batch_size", &BatchAssembler::batch_size)
      .def_property_readonly("slots", &BatchAssembler::slots)
      .def_property_readonly("pending", &BatchAssembler::pending);
  m.def("monotonic", &peakline::monotonic_now,
        "The monotonic clock batches are stamped with (same as time.monotonic()).");
}

PYBIND11_MODULE(_fastpath, m) {
  m.doc() = "Peakline's fused preprocessing hot path (private; use edge.fastpath).";
  init_preprocess(m);
  init_batch(m);
}
