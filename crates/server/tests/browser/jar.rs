//! A browser without JavaScript for the portal tests: a cookie jar over reqwest that never
//! follows redirects, with the login steps (password, TOTP code).
#![allow(dead_code)]

use std::collections::HashMap;

use reqwest::StatusCode;

use super::harness::{Person, Server};

/// A browser without JavaScript: keeps cookies, never follows redirects.
pub struct Browser {
    pub client: reqwest::Client,
    pub base: String,
    pub cookies: HashMap<String, String>,
}

pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: String,
}

impl Browser {
    pub fn new(s: &Server) -> Browser {
        Browser::at(&s.base)
    }

    /// A browser for the server at `base` (`http://127.0.0.1:PORT`).
    pub fn at(base: &str) -> Browser {
        Browser {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: base.to_string(),
            cookies: HashMap::new(),
        }
    }

    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub async fn finish(&mut self, r: reqwest::Response) -> Page {
        for sc in r.headers().get_all(reqwest::header::SET_COOKIE) {
            let sc = sc.to_str().unwrap();
            let first = sc.split(';').next().unwrap();
            let (k, v) = first.split_once('=').unwrap();
            if v.is_empty() || sc.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), v.to_string());
            }
        }
        let status = r.status();
        let location = r
            .headers()
            .get(reqwest::header::LOCATION)
            .map(|v| v.to_str().unwrap().to_string());
        Page {
            status,
            location,
            body: r.text().await.unwrap(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.finish(r).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encode_form(form))
            .send()
            .await
            .unwrap();
        self.finish(r).await
    }

    /// GETs `path` and returns the page's CSRF token.
    pub async fn csrf(&mut self, path: &str) -> String {
        let p = self.get(path).await;
        csrf_of(&p.body).unwrap_or_else(|| panic!("no csrf on {path}: {} {}", p.status, p.body))
    }

    pub async fn password(&mut self, login: &str, password: &str) -> Page {
        let csrf = self.csrf("/login").await;
        self.post(
            "/login",
            &[("login", login), ("password", password), ("csrf", &csrf)],
        )
        .await
    }

    pub async fn code(&mut self, code: &str) -> Page {
        let csrf = self.csrf("/login/totp").await;
        self.post("/login/totp", &[("code", code), ("csrf", &csrf)])
            .await
    }

    /// Password then TOTP code; answers the TOTP answer.
    pub async fn login(&mut self, p: &Person, code: &str) -> Page {
        let r = self.password(&p.user.login, &p.password).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(r.location.as_deref(), Some("/login/totp"));
        self.code(code).await
    }

    /// Whether `/` answers the home page (a full session).
    pub async fn signed_in(&mut self) -> bool {
        let p = self.get("/").await;
        match p.status {
            StatusCode::OK => true,
            StatusCode::SEE_OTHER | StatusCode::TEMPORARY_REDIRECT | StatusCode::FOUND => {
                assert_eq!(p.location.as_deref(), Some("/login"));
                false
            }
            s => panic!("unexpected {s}"),
        }
    }
}

pub fn encode_form(form: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    form.iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

pub fn csrf_of(body: &str) -> Option<String> {
    let i = body.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    Some(body[i..].split('"').next()?.to_string())
}
