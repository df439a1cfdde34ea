// vitedit host — a temporary folder that is removed with everything in it when it goes out of
// scope (the files perf hands to its peer processes).
#pragma once

#include <string>

#include <boost/filesystem.hpp>

namespace vitedit::cli {

class ScratchDir {
public:
    // Creates TMPDIR/<prefix>XXXXXXXX (random hex).
    explicit ScratchDir(const std::string& prefix)
        : path_(boost::filesystem::temp_directory_path() / boost::filesystem::unique_path(prefix + "%%%%%%%%")) {
        boost::filesystem::create_directories(path_);
    }
    ~ScratchDir() {
        boost::system::error_code ec;
        boost::filesystem::remove_all(path_, ec);
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    const boost::filesystem::path& path() const { return path_; }

private:
    boost::filesystem::path path_;
};

}  // namespace vitedit::cli
