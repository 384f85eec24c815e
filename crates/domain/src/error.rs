//! Stable error codes: what a client program matches on, and what a passenger reads.
//!
//! A code never changes meaning once published. Each has an HTTP status (a passenger's mistake
//! is never a 5xx) and a message in Kazakh, Russian and English that says what happened and
//! what to do next.

use crate::messages::{Language, Text};

macro_rules! error_codes {
    ($( $variant:ident = $code:literal, $status:literal, kk: $kk:literal, ru: $ru:literal, en: $en:literal; )*) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ErrorCode { $( $variant, )* }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[ $( ErrorCode::$variant, )* ];

            /// The stable machine code, `SCREAMING_SNAKE_CASE`.
            pub fn code(self) -> &'static str {
                match self { $( ErrorCode::$variant => $code, )* }
            }

            pub fn http_status(self) -> u16 {
                match self { $( ErrorCode::$variant => $status, )* }
            }

            pub fn text(self) -> Text {
                match self { $( ErrorCode::$variant => Text { kk: $kk, ru: $ru, en: $en }, )* }
            }
        }
    };
}

error_codes! {
    PhoneMalformed = "PHONE_MALFORMED", 400,
        kk: "Телефон нөмірі қате. Нөмірді +7 7XX XXX XX XX түрінде жазыңыз.",
        ru: "Неверный номер телефона. Укажите номер в виде +7 7XX XXX XX XX.",
        en: "This is not a valid phone number. Write it as +7 7XX XXX XX XX.";
    PhoneForeign = "PHONE_FOREIGN", 422,
        kk: "Бұл басқа елдің нөмірі. Жол ақысын тек Қазақстан операторларының нөмірінен төлеуге болады.",
        ru: "Это номер другой страны. Оплатить проезд можно только с номера казахстанского оператора.",
        en: "This is a number of another country. Only numbers of Kazakh mobile operators can pay a ride.";
    OperatorNotServed = "OPERATOR_NOT_SERVED", 422,
        kk: "Сіздің операторыңыз арқылы төлем әзірге қолжетімсіз. Ақша алынбады. Beeline, Kcell/Activ немесе Tele2/Altel нөмірінен төлеңіз.",
        ru: "Оплата через вашего оператора пока недоступна. Деньги не списаны. Оплатите с номера Beeline, Kcell/Activ или Tele2/Altel.",
        en: "Payment through your mobile operator is not available yet. Nothing was charged. Pay from a Beeline, Kcell/Activ or Tele2/Altel number.";
    TransportCodeMalformed = "TRANSPORT_CODE_MALFORMED", 400,
        kk: "Көлік коды қате. Автобустағы жапсырмадағы санды немесе мемлекеттік нөмірді жіберіңіз.",
        ru: "Неверный код транспорта. Отправьте число с наклейки в салоне или госномер автобуса.",
        en: "Wrong transport code. Send the number on the sticker inside the bus or its plate number.";
    TransportCodeUnknown = "TRANSPORT_CODE_UNKNOWN", 404,
        kk: "Мұндай көлік коды табылмады. Ақша алынбады. Жапсырмадағы кодты тексеріп, қайта жіберіңіз.",
        ru: "Такой код транспорта не найден. Деньги не списаны. Проверьте код на наклейке и отправьте снова.",
        en: "No bus has this transport code. Nothing was charged. Check the code on the sticker and send it again.";
    FareNotConfigured = "FARE_NOT_CONFIGURED", 409,
        kk: "Бұл бағыттың жол ақысы белгіленбеген. Ақша алынбады. Қолдау қызметі: +7 777 000 2505, +7 700 000 2505, +7 707 000 2505.",
        ru: "Для этого маршрута не задан тариф. Деньги не списаны. Служба поддержки: +7 777 000 2505, +7 700 000 2505, +7 707 000 2505.",
        en: "No fare is set for this route. Nothing was charged. Support: +7 777 000 2505, +7 700 000 2505, +7 707 000 2505.";
    PaymentCorporateNumber = "PAYMENT_CORPORATE_NUMBER", 402,
        kk: "Корпоративтік нөмірден төлеуге болмайды. Ақша алынбады. Жеке нөмірден төлеңіз.",
        ru: "С корпоративного номера оплата невозможна. Деньги не списаны. Оплатите с личного номера.",
        en: "Corporate numbers cannot pay. Nothing was charged. Pay from a personal number.";
    PaymentUnpaidTrust = "PAYMENT_UNPAID_TRUST", 402,
        kk: "Сізде өтелмеген сенім төлемі бар. Ақша алынбады. Алдымен сенім төлемін өтеңіз.",
        ru: "У вас есть непогашенный доверительный платёж. Деньги не списаны. Сначала погасите доверительный платёж.",
        en: "You have an unpaid trust payment (operator credit). Nothing was charged. Repay it first.";
    PaymentNeverToppedUp = "PAYMENT_NEVER_TOPPED_UP", 402,
        kk: "Нөмір сатып алынғаннан бері баланс толтырылмаған. Ақша алынбады. Балансты толтырып, қайталаңыз.",
        ru: "Баланс номера не пополнялся с момента покупки. Деньги не списаны. Пополните баланс и повторите.",
        en: "This number's balance has never been topped up since it was bought. Nothing was charged. Top up and try again.";
    PaymentStartingBalance = "PAYMENT_STARTING_BALANCE", 402,
        kk: "Бастапқы (сыйлық) балансты төлемге жұмсауға болмайды. Ақша алынбады. Балансты толтырыңыз.",
        ru: "Стартовый баланс нельзя тратить на платежи. Деньги не списаны. Пополните баланс.",
        en: "The starting (welcome) balance cannot be spent on payments. Nothing was charged. Top up your balance.";
    PaymentSimSwapped = "PAYMENT_SIM_SWAPPED", 402,
        kk: "SIM-карта соңғы 24 сағатта ауыстырылған. Қауіпсіздік үшін төлем 24 сағаттан кейін қолжетімді. Ақша алынбады.",
        ru: "SIM-карта заменена менее 24 часов назад. В целях безопасности оплата будет доступна позже. Деньги не списаны.",
        en: "The SIM card was replaced within the last 24 hours. For your safety, payments open again 24 hours after the swap. Nothing was charged.";
    PaymentInsufficientBalance = "PAYMENT_INSUFFICIENT_BALANCE", 402,
        kk: "Балансыңызда қаражат жеткіліксіз. Ақша алынбады. Балансты толтырып, қайталаңыз.",
        ru: "Недостаточно средств на балансе. Деньги не списаны. Пополните баланс и повторите.",
        en: "Your balance is too low. Nothing was charged. Top up and try again.";
    PaymentNumberUnknown = "PAYMENT_NUMBER_UNKNOWN", 402,
        kk: "Операторыңыз бұл нөмірді танымайды (нөмір басқа операторға ауысқан болуы мүмкін). Ақша алынбады. Операторыңызға хабарласыңыз немесе қолдау қызметіне: +7 777 000 2505, +7 700 000 2505, +7 707 000 2505.",
        ru: "Ваш оператор не знает этот номер (возможно, номер перенесён к другому оператору). Деньги не списаны. Обратитесь к своему оператору или в службу поддержки: +7 777 000 2505, +7 700 000 2505, +7 707 000 2505.",
        en: "Your operator does not know this number (it may have moved to another operator). Nothing was charged. Contact your operator or our support: +7 777 000 2505, +7 700 000 2505, +7 707 000 2505.";
    PaymentDenied = "PAYMENT_DENIED", 402,
        kk: "Оператор төлемді қабылдамады. Ақша алынбады. Операторыңызға хабарласыңыз.",
        ru: "Оператор отклонил платёж. Деньги не списаны. Обратитесь к своему оператору.",
        en: "Your operator refused the payment. Nothing was charged. Please contact your operator.";
    OperatorUnavailable = "OPERATOR_UNAVAILABLE", 503,
        kk: "Оператор қазір жауап бермей тұр. Ақша алынбады. Бірнеше минуттан кейін қайталаңыз.",
        ru: "Оператор сейчас недоступен. Деньги не списаны. Повторите через несколько минут.",
        en: "Your operator is not answering right now. Nothing was charged. Try again in a few minutes.";
    PaymentPending = "PAYMENT_PENDING", 202,
        kk: "Төлем расталуда. Билет дайын болғанда «Жарамды билеттер» бөлімінде пайда болады; екі рет алынбайды.",
        ru: "Платёж подтверждается. Билет появится в разделе «Действующие билеты»; дважды деньги не спишутся.",
        en: "Your payment is being confirmed. The ticket will appear under Valid tickets; you will never be charged twice.";
    IdempotencyKeyMissing = "IDEMPOTENCY_KEY_MISSING", 400,
        kk: "Сұраныста Idempotency-Key тақырыбы жоқ.",
        ru: "В запросе нет заголовка Idempotency-Key.",
        en: "The request has no Idempotency-Key header.";
    IdempotencyKeyReused = "IDEMPOTENCY_KEY_REUSED", 422,
        kk: "Бұл Idempotency-Key басқа сұраныспен бұрын қолданылған.",
        ru: "Этот Idempotency-Key уже использован с другим запросом.",
        en: "This Idempotency-Key was already used with a different request.";
    BadRequest = "BAD_REQUEST", 400,
        kk: "Сұраныс қате құрылған.",
        ru: "Запрос составлен неверно.",
        en: "The request is malformed.";
    BodyTooLarge = "BODY_TOO_LARGE", 413,
        kk: "Сұраныс тым үлкен.",
        ru: "Запрос слишком большой.",
        en: "The request is too large.";
    RateLimited = "RATE_LIMITED", 429,
        kk: "Сұраныстар тым көп. Сәлден соң қайталаңыз.",
        ru: "Слишком много запросов. Повторите чуть позже.",
        en: "Too many requests. Try again in a moment.";
    NotFound = "NOT_FOUND", 404,
        kk: "Табылмады.",
        ru: "Не найдено.",
        en: "Not found.";
    MethodNotAllowed = "METHOD_NOT_ALLOWED", 405,
        kk: "Бұл мекенжай мұндай әдісті қабылдамайды.",
        ru: "Этот адрес не принимает такой метод запроса.",
        en: "This address does not accept this request method.";
    VehicleSuspended = "VEHICLE_SUSPENDED", 409,
        kk: "Бұл көлік қазір жолаушы тасымалдамайды, сондықтан оған төлеу мүмкін емес. Ақша алынбады. Келесі автобусқа отырыңыз.",
        ru: "Этот автобус сейчас снят с линии, оплатить проезд в нём нельзя. Деньги не списаны. Садитесь в следующий автобус.",
        en: "This bus is not in service right now, so its ride cannot be paid. Nothing was charged. Please take the next bus.";
    ZoneRequired = "ZONE_REQUIRED", 422,
        kk: "Бұл бағыттың жол ақысы аймақ бойынша. Ақша алынбады. Кодты және бара жатқан аймақ нөмірін жіберіңіз, мысалы 13011 2.",
        ru: "На этом маршруте цена зависит от зоны. Деньги не списаны. Отправьте код и номер зоны, до которой едете, например 13011 2.",
        en: "This route is priced by zone. Nothing was charged. Send the code and the zone you travel to, e.g. 13011 2.";
    TicketAlreadyBought = "TICKET_ALREADY_BOUGHT", 409,
        kk: "Сізде осы автобусқа жарамды билет бар. Қайта ақша алынбады. Серігіңізге тағы бір билет керек болса, соны растаңыз.",
        ru: "У вас уже есть действующий билет в этом автобусе. Повторно деньги не списаны. Если нужен ещё один билет (для попутчика), подтвердите покупку ещё одного.",
        en: "You already have a valid ticket on this bus. Nothing was charged again. If you need another ticket (for a companion), confirm buying one more.";
    FeedbackAlreadyGiven = "FEEDBACK_ALREADY_GIVEN", 409,
        kk: "Бұл сапар туралы пікіріңіз бұрын жіберілген. Рақмет! Басқа сапарды бағалауға болады.",
        ru: "Отзыв об этой поездке уже отправлен. Спасибо! Можно оценить другую поездку.",
        en: "You already sent feedback on this ride. Thank you! You can rate another ride.";
    RideFailed = "RIDE_FAILED", 409,
        kk: "Бұл төлем өтпей аяқталды. Ақша алынбады. Төлеу үшін жаңа сұраныс жіберіңіз (жаңа Idempotency-Key).",
        ru: "Этот платёж не прошёл и завершён. Деньги не списаны. Чтобы оплатить, отправьте новый запрос (с новым Idempotency-Key).",
        en: "This payment did not go through and has ended. Nothing was charged. To pay, send a new request (with a new Idempotency-Key).";
    ZoneUnknown = "ZONE_UNKNOWN", 422,
        kk: "Бұл бағытта мұндай аймақ жоқ. Ақша алынбады. Кодты және аймақ нөмірін жіберіңіз, мысалы 13011 2.",
        ru: "На этом маршруте нет такой зоны. Деньги не списаны. Отправьте код и номер зоны, например 13011 2.",
        en: "This route has no such zone. Nothing was charged. Send the code and the zone number, e.g. 13011 2.";
    TicketNotValid = "TICKET_NOT_VALID", 409,
        kk: "Бұл билет енді жарамсыз: ол бұрын кері қайтарылған, қайтарылған немесе сапары аяқталған.",
        ru: "Этот билет уже недействителен: он отозван, возвращён или поездка завершена.",
        en: "This ticket is no longer valid: it was revoked or refunded before, or its ride has ended.";
    RefundDenied = "REFUND_DENIED", 409,
        kk: "Ұялы байланыс операторы бұл төлемді қайтарудан бас тартты. Билет жарамды күйінде қалды; жолаушыға басқаша өтемақы беріңіз немесе кейінірек қайталаңыз.",
        ru: "Оператор связи отказал в возврате этого платежа. Билет остаётся действительным; верните деньги пассажиру иначе или повторите позже.",
        en: "The mobile operator refused to refund this payment. The ticket stays valid; compensate the passenger another way or try again later.";
    Unauthorized = "UNAUTHORIZED", 401,
        kk: "Кіру рұқсаты жоқ.",
        ru: "Нет доступа.",
        en: "Not authorised.";
    CatalogueInvalid = "CATALOGUE_INVALID", 422,
        kk: "Каталог деректері қате.",
        ru: "Ошибка в данных каталога.",
        en: "The catalogue data is invalid.";
    SignInRequired = "SIGN_IN_REQUIRED", 401,
        kk: "Кіріңіз: нөміріңізге SMS арқылы код келеді.",
        ru: "Войдите: на ваш номер придёт код по SMS.",
        en: "Please sign in: a code will come to your number by SMS.";
    SignInCodeInvalid = "SIGN_IN_CODE_INVALID", 401,
        kk: "Код қате немесе мерзімі өтті. Жаңа код сұраңыз.",
        ru: "Код неверный или устарел. Запросите новый код.",
        en: "The code is wrong or has expired. Ask for a new code.";
    Internal = "INTERNAL", 500,
        kk: "Ішкі қате. Ақша екі рет алынбайды; сәлден соң қайталаңыз.",
        ru: "Внутренняя ошибка. Дважды деньги не спишутся; повторите чуть позже.",
        en: "Internal error. You will never be charged twice; try again in a moment.";
    CoordinatesInvalid = "COORDINATES_INVALID", 400,
        kk: "Координаттар қате. Оларды «ендік,бойлық» түрінде жазыңыз, мысалы 51.1282,71.4306.",
        ru: "Неверные координаты. Укажите их как «широта,долгота», например 51.1282,71.4306.",
        en: "These coordinates are not valid. Write them as lat,lon, for example 51.1282,71.4306.";
    DepartureTimeInvalid = "DEPARTURE_TIME_INVALID", 400,
        kk: "Жолға шығу уақыты қате. Уақытты СС:ММ түрінде (мысалы 08:30) немесе RFC 3339 бойынша жазыңыз.",
        ru: "Неверное время отправления. Укажите время как ЧЧ:ММ (например 08:30) или в формате RFC 3339.",
        en: "The departure time is not valid. Write it as HH:MM (for example 08:30) or as an RFC 3339 time.";
    NoStopNearby = "NO_STOP_NEARBY", 422,
        kk: "Жаяу жүру қашықтығында аялдама жоқ. Басқа нүктені таңдаңыз немесе жаяу жүру қашықтығын арттырыңыз.",
        ru: "В пределах пешей доступности нет остановок. Выберите другую точку или увеличьте допустимое расстояние пешком.",
        en: "There is no stop within walking distance. Choose another place or allow a longer walk.";
    SignInLocked = "SIGN_IN_LOCKED", 429,
        kk: "Қате код тым көп енгізілді. Бұл нөмірмен кіру уақытша тоқтатылды; көрсетілген уақыт өткен соң қайталаңыз.",
        ru: "Слишком много неверных кодов. Вход с этим номером временно приостановлен; повторите по истечении указанного времени.",
        en: "Too many wrong codes. Signing in with this number is paused; try again after the time shown.";
    SignInCodesExhausted = "SIGN_IN_CODES_EXHAUSTED", 429,
        kk: "Бұл нөмірге бір тәулікте кіру коды тым көп жіберілді. Көрсетілген уақыт өткен соң қайталаңыз.",
        ru: "На этот номер за сутки отправлено слишком много кодов входа. Повторите по истечении указанного времени.",
        en: "Too many sign-in codes were sent to this number within a day. Try again after the time shown.";
    SignInBusy = "SIGN_IN_BUSY", 429,
        kk: "Қазір кіру сұраныстары тым көп. Бір минуттан кейін қайталаңыз.",
        ru: "Сейчас слишком много запросов на вход. Повторите через минуту.",
        en: "Too many people are signing in right now. Try again in a minute.";
    RoleForbidden = "ROLE_FORBIDDEN", 403,
        kk: "Бұл әрекет сіздің рөліңізге рұқсат етілмеген.",
        ru: "Это действие не разрешено вашей роли.",
        en: "Your role may not do this.";
    ScopeForbidden = "SCOPE_FORBIDDEN", 403,
        kk: "Бұл деректер сіздің қалаңызға немесе тасымалдаушыңызға жатпайды.",
        ru: "Эти данные не относятся к вашему городу или перевозчику.",
        en: "This belongs to a city or carrier outside your scope.";
    StaffSignInFailed = "STAFF_SIGN_IN_FAILED", 401,
        kk: "Логин, құпиясөз немесе бір реттік код қате.",
        ru: "Неверный логин, пароль или одноразовый код.",
        en: "Wrong login, password or one-time code.";
    StaffSignInLocked = "STAFF_SIGN_IN_LOCKED", 429,
        kk: "Қате кіру әрекеттері тым көп. Көрсетілген уақыт өткен соң қайталаңыз.",
        ru: "Слишком много неудачных попыток входа. Повторите по истечении указанного времени.",
        en: "Too many failed sign-ins. Try again after the time shown.";
    StaffTotpRequired = "STAFF_TOTP_REQUIRED", 401,
        kk: "Бұл есептік жазбаға аутентификатордан алынған бір реттік код қажет.",
        ru: "Для этой учётной записи нужен одноразовый код из приложения-аутентификатора.",
        en: "This account needs the one-time code from its authenticator app.";
    StaffLoginTaken = "STAFF_LOGIN_TAKEN", 409,
        kk: "Мұндай логин бұрыннан бар.",
        ru: "Такой логин уже существует.",
        en: "This login is taken.";
    StaffAccountUnknown = "STAFF_ACCOUNT_UNKNOWN", 404,
        kk: "Мұндай қызметкер есептік жазбасы жоқ.",
        ru: "Такой учётной записи сотрудника нет.",
        en: "There is no staff account with this login.";
    StaffAccountInvalid = "STAFF_ACCOUNT_INVALID", 422,
        kk: "Есептік жазба деректері қате: логин, рөл, қала немесе тасымалдаушы.",
        ru: "Неверные данные учётной записи: логин, роль, город или перевозчик.",
        en: "The account's login, role, cities or carrier are not valid.";
    CsrfTokenInvalid = "CSRF_TOKEN_INVALID", 403,
        kk: "Сұрауда сеанстың CSRF белгісі жоқ немесе қате. Бетті жаңартыңыз.",
        ru: "В запросе нет CSRF-токена сеанса или он неверен. Обновите страницу.",
        en: "The request lacks the session's CSRF token, or it is wrong. Reload the page.";
    CredentialUnknown = "CREDENTIAL_UNKNOWN", 404,
        kk: "Мұндай серіктес тіркелгі деректері жоқ.",
        ru: "Таких учётных данных партнёра нет.",
        en: "There is no partner credential with this id.";
    StaffSessionUnknown = "STAFF_SESSION_UNKNOWN", 404,
        kk: "Мұндай сеанс жоқ.",
        ru: "Такого сеанса нет.",
        en: "There is no such session.";
    CardNumberMistyped = "CARD_NUMBER_MISTYPED", 400,
        kk: "Карта нөмірінде қате бар (бақылау саны сәйкес емес). 16 цифрды картадағыдай қайта тексеріңіз.",
        ru: "В номере карты опечатка (не сходится контрольная цифра). Проверьте все 16 цифр по карте.",
        en: "The card number has a typo (its check digit does not match). Check all 16 digits against the card.";
    CardNumberMalformed = "CARD_NUMBER_MALFORMED", 400,
        kk: "Карта нөмірі 16 цифрдан тұрады.",
        ru: "Номер карты состоит из 16 цифр.",
        en: "A card number is 16 digits.";
    CardNotFound = "CARD_NOT_FOUND", 404,
        kk: "Мұндай карта табылмады. Ақша алынбады. Нөмірді немесе соңғы төрт цифрын тексеріңіз.",
        ru: "Такая карта не найдена. Деньги не списаны. Проверьте номер или его последние четыре цифры.",
        en: "No such card. Nothing was charged. Check the number or its last four digits.";
    CardAmbiguous = "CARD_AMBIGUOUS", 409,
        kk: "Сіздің бірнеше картаңыз осы төрт цифрмен аяқталады. Ақша алынбады. Картаны қосымшада таңдаңыз.",
        ru: "У вас несколько карт с такими последними цифрами. Деньги не списаны. Выберите карту в приложении.",
        en: "Several of your cards end in these four digits. Nothing was charged. Choose the card in the app.";
    CardInsufficientFunds = "CARD_INSUFFICIENT_FUNDS", 402,
        kk: "Картада жол ақысына қаражат жеткіліксіз. Ақша алынбады. Картаны толтырыңыз немесе телефон балансынан төлеңіз.",
        ru: "На карте не хватает денег на проезд. Деньги не списаны. Пополните карту или оплатите с баланса телефона.",
        en: "The card does not hold the fare. Nothing was charged. Top it up or pay from your phone balance.";
    CardBlocked = "CARD_BLOCKED", 409,
        kk: "Карта бұғатталған. Ақша алынбады. Картаны қосымшада бұғаттан шығарыңыз.",
        ru: "Карта заблокирована. Деньги не списаны. Разблокируйте её в приложении.",
        en: "This card is blocked. Nothing was charged. Unblock it in the app.";
    CardClosed = "CARD_CLOSED", 409,
        kk: "Карта жабылған. Ақша алынбады. Басқа картаны таңдаңыз.",
        ru: "Карта закрыта. Деньги не списаны. Выберите другую карту.",
        en: "This card is closed. Nothing was charged. Choose another card.";
    CardNotActive = "CARD_NOT_ACTIVE", 409,
        kk: "Карта әлі белсенді емес. Ақша алынбады.",
        ru: "Карта ещё не активна. Деньги не списаны.",
        en: "This card is not active yet. Nothing was charged.";
    CardMoveNotAllowed = "CARD_MOVE_NOT_ALLOWED", 409,
        kk: "Картаның қазіргі күйінде бұл әрекет мүмкін емес.",
        ru: "В текущем состоянии карты это действие невозможно.",
        en: "This cannot be done to the card in its present state.";
    CardCloseTargetRequired = "CARD_CLOSE_TARGET_REQUIRED", 422,
        kk: "Картада ақша бар. Жабу үшін қалдық аударылатын басқа белсенді картаңызды көрсетіңіз.",
        ru: "На карте есть деньги. Чтобы закрыть её, укажите другую свою активную карту, на которую перейдёт остаток.",
        en: "The card still holds money. To close it, name another active card of yours to move the balance to.";
    CardBusy = "CARD_BUSY", 409,
        kk: "Картада аяқталмаған төлем бар. Бір минуттан кейін қайталаңыз.",
        ru: "По карте идёт незавершённый платёж. Повторите через минуту.",
        en: "A payment on this card is still in progress. Try again in a minute.";
    CardsTooMany = "CARDS_TOO_MANY", 422,
        kk: "Бір нөмірге ашуға болатын карталар саны шегіне жетті.",
        ru: "На один номер открыто максимальное число карт.",
        en: "This number already holds the most cards it may.";
    CardFieldsInvalid = "CARD_FIELDS_INVALID", 422,
        kk: "Мектеп картасына оқушының аты, мектебі және сыныбы керек (әрқайсысы 80 таңбаға дейін).",
        ru: "Для школьной карты нужны имя ученика, школа и класс (каждое до 80 символов).",
        en: "A school card needs the pupil's name, school and class (each up to 80 characters).";
    BankSourceNotAllowed = "BANK_SOURCE_NOT_ALLOWED", 403,
        kk: "Бұл банк осы мекенжайдан қосыла алмайды.",
        ru: "Этому банку не разрешено подключаться с этого адреса.",
        en: "This bank may not connect from this address.";
    // carrier dashboard: vehicles and feedback
    VehicleTaken = "VEHICLE_TAKEN", 409,
        kk: "Бұл көлік коды немесе мемлекеттік нөмір басқа көлікте тұр.",
        ru: "Этот код транспорта или госномер уже заняты другой машиной.",
        en: "This transport code or plate already belongs to another vehicle.";
    VehicleRouteInvalid = "VEHICLE_ROUTE_INVALID", 422,
        kk: "Бұл бағыт тасымалдаушының қаласында жоқ.",
        ru: "Такого маршрута нет в городе перевозчика.",
        en: "There is no such route in the carrier's city.";
    FeedbackStatusStale = "FEEDBACK_STATUS_STALE", 409,
        kk: "Пікірдің күйін басқа біреу өзгертті. Бетті жаңартып, қайталаңыз.",
        ru: "Статус отзыва уже изменил кто-то другой. Обновите страницу и повторите.",
        en: "Someone else changed this feedback's status. Reload and try again.";
    // Top-ups through the card acquirer, and reconciliation with partners.
    TopUpAmountOutOfRange = "TOP_UP_AMOUNT_OUT_OF_RANGE", 422,
        kk: "Толықтыру сомасы картаның шегінен тыс. Көрсетілген ең аз және ең көп соманың арасын таңдаңыз.",
        ru: "Сумма пополнения вне пределов карты. Выберите сумму между указанными минимумом и максимумом.",
        en: "The top-up amount is outside the card's limits. Choose an amount between the minimum and maximum shown.";
    TopUpBalanceTooLarge = "TOP_UP_BALANCE_TOO_LARGE", 422,
        kk: "Бұл сомамен картадағы қалдық ең үлкен шектен асады. Азырақ сома таңдаңыз.",
        ru: "С этой суммой остаток на карте превысит максимум. Выберите сумму меньше.",
        en: "With this amount the card would hold more than its maximum balance. Choose a smaller amount.";
    TopUpNotFound = "TOP_UP_NOT_FOUND", 404,
        kk: "Мұндай толықтыру табылмады.",
        ru: "Такое пополнение не найдено.",
        en: "No such top-up.";
    AcquirerUnavailable = "ACQUIRER_UNAVAILABLE", 503,
        kk: "Төлем беті қазір ашылмай тұр. Ақша алынбады. Бірнеше минуттан кейін қайталаңыз.",
        ru: "Страница оплаты сейчас недоступна. Деньги не списаны. Повторите через несколько минут.",
        en: "The payment page is not available right now. Nothing was charged. Try again in a few minutes.";
    CallbackSignatureInvalid = "CALLBACK_SIGNATURE_INVALID", 401,
        kk: "Хабарлама қолтаңбасы дұрыс емес.",
        ru: "Подпись уведомления неверна.",
        en: "The notification's signature is not valid.";
    ReconciliationFileInvalid = "RECONCILIATION_FILE_INVALID", 422,
        kk: "Салыстыру файлын оқу мүмкін емес: жолдары мен бағандарын тексеріңіз.",
        ru: "Файл сверки не читается: проверьте его строки и столбцы.",
        en: "The reconciliation file cannot be read: check its lines and columns.";
    DiscrepancyNotFound = "DISCREPANCY_NOT_FOUND", 404,
        kk: "Мұндай сәйкессіздік табылмады.",
        ru: "Такое расхождение не найдено.",
        en: "No such discrepancy.";
    DiscrepancyResolutionNotAllowed = "DISCREPANCY_RESOLUTION_NOT_ALLOWED", 409,
        kk: "Бұл сәйкессіздікті осылай шешуге болмайды немесе ол басқаша шешілген.",
        ru: "Это расхождение нельзя решить так, или оно уже решено иначе.",
        en: "This discrepancy cannot be resolved this way, or it was already resolved otherwise.";
}

impl ErrorCode {
    pub fn message(self, language: Language) -> &'static str {
        self.text().get(language)
    }

    pub fn from_code(code: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|e| e.code() == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_every_message_is_written() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.code()), "duplicate {}", code.code());
            assert_eq!(ErrorCode::from_code(code.code()), Some(*code));
            for language in Language::ALL {
                assert!(!code.message(language).is_empty());
            }
            assert_ne!(code.text().kk, code.text().en);
        }
    }

    #[test]
    fn every_suggestion_is_something_a_passenger_can_do_today() {
        for code in ErrorCode::ALL {
            let text = code.text();
            for message in [text.kk, text.ru, text.en] {
                // Where support is suggested, its number is given.
                let suggests_support = ["support", "поддержк", "қолдау"]
                    .iter()
                    .any(|word| message.contains(word));
                if suggests_support {
                    assert!(
                        message.contains(crate::messages::SUPPORT_PHONES),
                        "{}: {message}",
                        code.code()
                    );
                }
            }
        }
    }

    #[test]
    fn a_passengers_mistake_is_never_a_server_error() {
        for code in ErrorCode::ALL {
            // A partner that is down (an operator, the card acquirer) is no one's mistake.
            let partner_down = matches!(
                code,
                ErrorCode::OperatorUnavailable | ErrorCode::AcquirerUnavailable
            );
            if *code != ErrorCode::Internal && !partner_down {
                assert!(code.http_status() < 500, "{}", code.code());
            }
        }
    }
}
