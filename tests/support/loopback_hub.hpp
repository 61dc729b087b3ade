// loopback_hub: a Hugging Face Hub on 127.0.0.1 for the hub client's tests — the model
// info API (/api/models/{repo}/revision/{rev}?blobs=true), file downloads
// (/{repo}/resolve/{rev}/{file}; LFS files redirect to /cdn/{sha256} as the real Hub sends
// them to its CDN) with Range, gated (401 GatedRepo) and missing (404 RepoNotFound)
// repositories, a required token, and two faults a test can arm per file: the connection
// dropped halfway through, and bytes that do not match the listed hash; it can also
// redirect to another host name and stall. It records every request. One thread serves one connection at a time (the client is sequential).
#pragma once

#include <openssl/evp.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace actorlm::test {

// The Hub's digests computed here with OpenSSL's one-shot call, apart from
// net/hub/file_digest on purpose: they are the oracle the client's checks are tested
// against, so they must not share its code.
inline std::string hex_digest(const EVP_MD* md, const std::string& bytes) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(bytes.data(), bytes.size(), out, &len, md, nullptr);
    static constexpr char k_hex[] = "0123456789abcdef";
    std::string hex;
    for (unsigned int i = 0; i < len; ++i) {
        hex += k_hex[out[i] >> 4];
        hex += k_hex[out[i] & 15];
    }
    return hex;
}

inline std::string sha256_hex(const std::string& bytes) { return hex_digest(EVP_sha256(), bytes); }

inline std::string git_blob_sha1_hex(const std::string& bytes) {
    std::string object = "blob " + std::to_string(bytes.size());
    object.push_back('\0');
    return hex_digest(EVP_sha1(), object + bytes);
}

class loopback_hub {
public:
    struct file {
        std::string content;
        bool lfs = false;  ///< served through the /cdn redirect, listed with its sha256
    };
    struct commit {
        std::string sha;  ///< 40 hex digits
        std::map<std::string, file> files;
    };
    struct repo {
        std::map<std::string, commit> revisions;  ///< "main", tags, ... -> commit
        bool gated = false;  ///< the model info and the files answer 401 GatedRepo
        /// Only the files answer 401 GatedRepo: the real Hub shows a gated repository's
        /// file list to anyone and refuses the content.
        bool gated_files = false;
    };
    struct request_record {
        std::string target;
        std::string range;
        std::string authorization;
    };

    loopback_hub() : acceptor_(ioc_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
        thread_ = std::thread([this] { serve(); });
    }
    ~loopback_hub() {
        stopping_ = true;
        boost::system::error_code ec;
        boost::asio::ip::tcp::socket wake(ioc_);
        wake.connect(acceptor_.local_endpoint(), ec);  // unblocks accept()
        thread_.join();
    }

    std::string endpoint() const {
        return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
    }

    void add_repo(const std::string& id, repo r) {
        std::lock_guard lock(mutex_);
        repos_[id] = std::move(r);
    }
    /// Requests without "Authorization: Bearer {token}" get 401.
    void require_token(const std::string& token) {
        std::lock_guard lock(mutex_);
        token_ = token;
    }
    /// The next download of this file (by the hash it is listed with: the sha256 of an
    /// LFS file) stops after `bytes` bytes.
    void drop_next_download_after(const std::string& etag, size_t bytes) {
        std::lock_guard lock(mutex_);
        drop_after_[etag] = bytes;
    }
    /// Downloads of this file (by the hash it is listed with) send other bytes.
    void corrupt(const std::string& etag) {
        std::lock_guard lock(mutex_);
        corrupt_.insert(etag);
    }
    /// LFS redirects name this host ("localhost") in an absolute URL instead of a path,
    /// as the real Hub sends them to another host (its CDN).
    void redirect_to_host(const std::string& host) {
        std::lock_guard lock(mutex_);
        redirect_host_ = host;
    }
    /// The next request is read and then left unanswered this long before the connection
    /// closes: a server that went silent.
    void stall_next_request(std::chrono::milliseconds how_long) {
        std::lock_guard lock(mutex_);
        stall_ = how_long;
    }
    std::vector<request_record> requests() const {
        std::lock_guard lock(mutex_);
        return requests_;
    }
    /// Requests whose target contains `part` ("/resolve/", "/cdn/", "/api/").
    size_t count(const std::string& part) const {
        size_t n = 0;
        for (const auto& r : requests())
            if (r.target.find(part) != std::string::npos) ++n;
        return n;
    }

private:
    using response = boost::beast::http::response<boost::beast::http::string_body>;

    static response make(unsigned status, std::string body = {},
                         const std::string& type = "application/json") {
        response res{static_cast<boost::beast::http::status>(status), 11};
        res.set(boost::beast::http::field::content_type, type);
        res.body() = std::move(body);
        return res;
    }

    static std::string etag_of(const file& f) {
        return f.lfs ? sha256_hex(f.content) : git_blob_sha1_hex(f.content);
    }

    // The repository with this id ("org/name"), or null.
    const repo* find_repo(const std::string& id) const {
        const auto it = repos_.find(id);
        return it == repos_.end() ? nullptr : &it->second;
    }

    static std::vector<std::string> split(const std::string& path) {
        std::vector<std::string> parts;
        size_t start = 1;
        while (start <= path.size()) {
            const size_t slash = path.find('/', start);
            parts.push_back(path.substr(start, slash - start));
            if (slash == std::string::npos) break;
            start = slash + 1;
        }
        return parts;
    }

    static std::string percent_decoded(const std::string& s) {
        std::string out;
        for (size_t i = 0; i < s.size(); ++i) {
            if (s[i] == '%' && i + 2 < s.size()) {
                out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
                i += 2;
            } else {
                out += s[i];
            }
        }
        return out;
    }

    // Answers one request; sets *cut_after > 0 when the body is to be cut short there
    // (the dropped download).
    response answer(const std::string& target, const std::string& range, size_t* cut_after) {
        std::lock_guard lock(mutex_);
        const std::string path = target.substr(0, target.find('?'));
        const auto parts = split(path);
        if (!token_.empty() && parts.size() >= 1 && parts[0] != "cdn" &&
            last_authorization_ != "Bearer " + token_) {
            auto res = make(401, R"({"error":"Invalid credentials"})");
            return res;
        }
        if (parts.size() >= 2 && parts[0] == "cdn") return serve_content(parts[1], range, cut_after);
        const bool api = parts.size() >= 6 && parts[0] == "api" && parts[1] == "models" &&
                         parts[4] == "revision";
        const bool resolve = parts.size() >= 5 && parts[2] == "resolve";
        if (!api && !resolve) return make(404, R"({"error":"no such route"})");
        const std::string id = api ? parts[2] + "/" + parts[3] : parts[0] + "/" + parts[1];
        const repo* r = find_repo(id);
        if (r == nullptr) {
            auto res = make(404, R"({"error":"Repository not found"})");
            res.set("X-Error-Code", "RepoNotFound");
            res.set("X-Error-Message", "Repository not found");
            return res;
        }
        if (r->gated || (r->gated_files && !api)) {
            auto res = make(401, R"({"error":"Access to model is restricted"})");
            res.set("X-Error-Code", "GatedRepo");
            res.set("X-Error-Message", "Access to model " + id + " is restricted.");
            return res;
        }
        const std::string rev = percent_decoded(api ? parts[5] : parts[3]);
        const commit* c = nullptr;
        for (const auto& [name, candidate] : r->revisions)
            if (name == rev || candidate.sha == rev) c = &candidate;
        if (c == nullptr) {
            auto res = make(404, R"({"error":"Invalid rev id"})");
            res.set("X-Error-Code", "RevisionNotFound");
            return res;
        }
        if (api) return model_info(id, *c);
        std::string file_path;
        for (size_t i = 4; i < parts.size(); ++i)
            file_path += (file_path.empty() ? "" : "/") + percent_decoded(parts[i]);
        const auto f = c->files.find(file_path);
        if (f == c->files.end()) {
            auto res = make(404, R"({"error":"Entry not found"})");
            res.set("X-Error-Code", "EntryNotFound");
            return res;
        }
        if (f->second.lfs) {
            auto res = make(302, "");
            const std::string cdn_path = "/cdn/" + sha256_hex(f->second.content);
            res.set(boost::beast::http::field::location,
                    redirect_host_.empty()
                        ? cdn_path
                        : "http://" + redirect_host_ + ":" +
                              std::to_string(acceptor_.local_endpoint().port()) + cdn_path);
            res.set("X-Repo-Commit", c->sha);
            res.set("X-Linked-Etag", "\"" + etag_of(f->second) + "\"");
            return res;
        }
        response res = serve_bytes(f->second.content, etag_of(f->second), range, cut_after);
        res.set("X-Repo-Commit", c->sha);
        res.set(boost::beast::http::field::etag, "\"" + etag_of(f->second) + "\"");
        return res;
    }

    response model_info(const std::string& id, const commit& c) const {
        std::string json = R"({"id":")" + id + R"(","sha":")" + c.sha + R"(","siblings":[)";
        bool first = true;
        for (const auto& [name, f] : c.files) {
            json += first ? "" : ",";
            first = false;
            json += R"({"rfilename":")" + name + R"(","size":)" +
                    std::to_string(f.content.size()) + R"(,"blobId":")" +
                    (f.lfs ? git_blob_sha1_hex("version https://git-lfs ..." + name)
                           : git_blob_sha1_hex(f.content)) +
                    "\"";
            if (f.lfs)
                json += R"(,"lfs":{"sha256":")" + sha256_hex(f.content) + R"(","size":)" +
                        std::to_string(f.content.size()) + R"(,"pointerSize":134})";
            json += "}";
        }
        json += "]}";
        return make(200, json);
    }

    response serve_content(const std::string& sha, const std::string& range, size_t* cut_after) {
        for (const auto& [id, r] : repos_)
            for (const auto& [rev, c] : r.revisions)
                for (const auto& [name, f] : c.files)
                    if (f.lfs && sha256_hex(f.content) == sha)
                        return serve_bytes(f.content, sha, range, cut_after);
        return make(404, R"({"error":"no such blob"})");
    }

    response serve_bytes(std::string content, const std::string& etag, const std::string& range,
                         size_t* cut_after) {
        if (corrupt_.count(etag) != 0 && !content.empty()) content[content.size() / 2] ^= 0x5a;
        size_t from = 0;
        if (range.rfind("bytes=", 0) == 0) from = std::stoull(range.substr(6));
        if (from > content.size()) return make(416, "");
        response res = make(from > 0 ? 206 : 200, content.substr(from), "application/octet-stream");
        if (from > 0)
            res.set(boost::beast::http::field::content_range,
                    "bytes " + std::to_string(from) + "-" + std::to_string(content.size() - 1) +
                        "/" + std::to_string(content.size()));
        res.set(boost::beast::http::field::accept_ranges, "bytes");
        if (const auto drop = drop_after_.find(etag); drop != drop_after_.end()) {
            *cut_after = drop->second;
            drop_after_.erase(drop);
        }
        return res;
    }

    void serve() {
        namespace http = boost::beast::http;
        while (!stopping_) {
            boost::asio::ip::tcp::socket socket(ioc_);
            boost::system::error_code ec;
            acceptor_.accept(socket, ec);
            if (ec || stopping_) continue;
            boost::beast::flat_buffer buffer;
            http::request<http::string_body> req;
            http::read(socket, buffer, req, ec);
            if (ec) continue;
            const std::string target(req.target());
            const std::string range(req[http::field::range]);
            {
                std::lock_guard lock(mutex_);
                last_authorization_ = std::string(req[http::field::authorization]);
                requests_.push_back({target, range, last_authorization_});
            }
            std::chrono::milliseconds stall{0};
            {
                std::lock_guard lock(mutex_);
                stall = std::exchange(stall_, std::chrono::milliseconds{0});
            }
            if (stall.count() > 0) {
                std::this_thread::sleep_for(stall);
                continue;  // the socket closes unanswered
            }
            size_t cut_after = 0;
            response res = answer(target, range, &cut_after);
            res.keep_alive(false);
            res.prepare_payload();
            if (cut_after > 0 && cut_after < res.body().size()) {
                // The whole length announced, part of the body sent, then the connection
                // closed: what a network failure halfway through looks like.
                http::response_serializer<http::string_body> sr(res);
                http::write_header(socket, sr, ec);
                boost::asio::write(socket, boost::asio::buffer(res.body().data(), cut_after), ec);
                socket.close(ec);
                continue;
            }
            http::write(socket, res, ec);
            socket.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
        }
    }

    boost::asio::io_context ioc_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::atomic<bool> stopping_{false};
    std::thread thread_;
    mutable std::mutex mutex_;
    std::map<std::string, repo> repos_;
    std::string token_;
    std::string last_authorization_;
    std::map<std::string, size_t> drop_after_;
    std::set<std::string> corrupt_;
    std::string redirect_host_;
    std::chrono::milliseconds stall_{0};
    std::vector<request_record> requests_;
};

}  // namespace actorlm::test
