# ruff: noqa: E501  (the sentences of the evaluation set are data, kept one per line)
"""Write ``bench/data/eval.jsonl``: the labelled evaluation set of ``bench/quality.py``.

Written independently of ``trailhound synth`` and of the pattern library: the sentences below were
composed for this set in several authors' voices (terse, chatty, formal, shouty, emoji-heavy), in
English, Spanish, Portuguese, French, Russian, Chinese, Tagalog, Romanian, Vietnamese and Thai, and
describe the documented indicator *concepts* (youth, a third party arranging, several women offered,
rotation between cities with someone else talking, restriction, labour exploitation) in wording of
their own. Around them: consenting adults' own ads (first person, rates, touring, screening) and
benign look-alikes (youth programmes stating ages, wages, negated job-fraud warnings, pets, produce).
Evasions are applied by functions of this script (not the project's obfuscator) and recorded per post.

Run: ``python bench/data/make_eval.py`` (deterministic; rewrites ``bench/data/eval.jsonl``).
Every text is fictional and non-explicit; phone numbers are fictional 555-01xx numbers.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

OUT = Path(__file__).resolve().parent / "eval.jsonl"
SEED = 20261130

# --------------------------------------------------------------------------------------------------
# Per-language material. Slots: intro, youth, age (with {n}), control, several, rotation, restrict,
# labour (job ads with exploitation), adult (own ads), benign_youth (programmes with ages {a}-{b}),
# benign_job (fair job ads, wages, negations), benign_misc (pets, produce, rooms, cars).

LANG: dict[str, dict[str, list[str]]] = {
    "en": {
        "intro": ["New in town this week.", "Sweet and fun, available now.", "Hi gentlemen!", "Visiting for a few days.",
                  "Come relax tonight.", "Upscale company, discreet.", "Just arrived!!"],
        "youth": ["She is very young and very fresh, first time doing this.", "A real little schoolgirl look, so innocent.",
                  "Tiny teen princess, never been with anyone.", "Baby face doll, so naive and shy.",
                  "Fresh young thing straight out of high school.", "Innocent little one, barely legal."],
        "age": ["She is only {n}.", "{n} but mature for her age.", "I'm {n} yo and new.", "age {n}, sweet and petite",
                "just turned {n} last week", "Young {n} years old girl"],
        "control": ["Her daddy handles all her bookings, do not text her directly.",
                    "My manager sets everything up, talk to him first.",
                    "Call her boyfriend to arrange the visit, he drives her.",
                    "Someone else takes the calls for her, ask for Tony.",
                    "Speak to the man who looks after her, he decides.",
                    "Her uncle answers the phone and books the time."],
        "several": ["Three girls available at once, pick your favourite.", "Many new ladies to choose from every night.",
                    "Two sisters together, both new.", "We have girls of all types, come choose."],
        "rotation": ["The girls move to a new city every week, my guy does all the talking.",
                     "Different girls each week, we rotate between Dallas, Houston and Austin, driver handles it.",
                     "New faces every few days, we travel the circuit and I set up the meetings."],
        "restrict": ["She cannot go out alone and does not speak English.", "She stays in and is never allowed to leave.",
                     "No phone of her own, I keep it.", "She has to pay back what she owes before she can stop."],
        "labour": ["Farm workers wanted abroad. The boss keeps your passport safe during the contract.",
                   "Travel and visa paid by us, repaid from your wages over twelve months.",
                   "Factory job overseas: housing on site, rent deducted, no days off in peak season.",
                   "Restaurant staff needed, live at the boss's house, do not tell your family where you work.",
                   "Cleaning crew, 7 days a week, 14 hour shifts, wages paid at the end of the contract.",
                   "Recruitment fee 2000 dollars, work it off in the first months, documents held by the agency."],
        "adult": ["Independent and 100% me. Touring Chicago Friday to Sunday, rates firm, screening required.",
                  "I'm Alexis, 29, my own boss. Incall 200 hourly, references or screening please.",
                  "Mature companion visiting Denver next week, deposit to book, no exceptions.",
                  "Hello from Maya, 34, I set my own schedule and travel often. Verified, ID check for clients.",
                  "Fly me to you, dinner dates available, rates on my site, safe and respectful only.",
                  "Classy 26 year old, new to the area this month, discreet, screening with work info."],
        "benign_youth": ["Summer soccer camp for ages {a}-{b}, coaches certified.",
                         "Art class for kids aged {a} to {b}, Saturdays at the library.",
                         "Our swim team accepts girls {a}-{b} years old, tryouts Monday.",
                         "Daycare openings for toddlers, ages {a} to {b}; licensed staff.",
                         "Teen coding club, ages {a}-{b}, free laptops provided."],
        "benign_job": ["Warehouse associates $17/hr, weekends off, no experience needed.",
                       "Hiring cooks: no placement fee, you keep your passport at all times, paid weekly.",
                       "Nanny position, $18 an hour, references required, no documents needed to apply online.",
                       "Seasonal farm work, fair pay, housing optional, free to leave anytime.",
                       "Legit agency: we never hold your documents and never charge a fee."],
        "benign_misc": ["Young kittens ready for new homes, ask for Maria.", "Fresh strawberries picked daily, new stand on Main.",
                        "Room for rent near campus, quiet street.", "Used car, one owner, low miles.",
                        "Little puppies, vet checked, text for pics."],
    },
    "es": {
        "intro": ["Recién llegada a la ciudad.", "Hola caballeros.", "Disponible hoy mismo.", "Nueva en la zona, muy cariñosa.",
                  "Atención discreta."],
        "youth": ["Una niña muy tierna, jovencita de verdad.", "Carita de niña, inocente y sin experiencia.",
                  "Colegiala nuevita, primera vez.", "Chiquita dulce, apenas empezando.", "Muy jovencita y nueva en esto."],
        "age": ["Tiene {n} años.", "chiquita de {n}", "solo {n} añitos", "{n} años pero madura", "Edad {n}."],
        "control": ["No le escriba a ella, hable con su tío que organiza todo.",
                    "El encargado maneja las citas, llame al señor.",
                    "Su representante decide los horarios, pregunte por Don Carlos.",
                    "Yo la llevo y la traigo, arreglamos todo conmigo."],
        "several": ["Tenemos varias chicas, escoja la que guste.", "Tres muchachas disponibles juntas.",
                    "Muchas nenas nuevas cada semana."],
        "rotation": ["Las chicas cambian de ciudad cada semana, el encargado contesta.",
                     "Rotamos entre Monterrey y Guadalajara, mi socio arregla todo."],
        "restrict": ["No sale sola y no habla el idioma.", "No tiene teléfono propio, yo lo guardo.",
                     "Debe pagar su deuda antes de irse."],
        "labour": ["Se buscan trabajadores para el campo en el extranjero, el patrón guarda el pasaporte.",
                   "Pasaje y visa pagados, se descuentan del sueldo durante un año.",
                   "Trabajo en fábrica, vivienda en la fábrica, se descuenta la renta, sin días libres.",
                   "Limpieza 7 días a la semana, jornadas de 14 horas, el pago al final del contrato.",
                   "No le digas a tu familia dónde trabajas, todo se arregla con el encargado."],
        "adult": ["Soy independiente, 28 años, de visita en Madrid esta semana, tarifas fijas, pido referencias.",
                  "Me llamo Lucía, 31, trabajo por mi cuenta, reserva con depósito.",
                  "Acompañante madura de gira por Barcelona, verificación obligatoria.",
                  "Mujer de 27 años, viajo seguido, 150 la hora, solo caballeros respetuosos."],
        "benign_youth": ["Campamento de verano para niños de {a} a {b} años.", "Clases de fútbol para chicas de {a}-{b} años.",
                         "Guardería con plazas para edades {a} a {b}.", "Taller de pintura, niños de {a} a {b} años."],
        "benign_job": ["Se busca ayudante de cocina, $17 la hora, sin costo de colocación.",
                       "Empleo en bodega, usted conserva su pasaporte siempre, pago semanal.",
                       "Niñera, no se necesitan documentos para postular en línea, 18 dólares por hora."],
        "benign_misc": ["Gatitos jóvenes buscan hogar, pregunte por María.", "Fresas frescas recién cosechadas.",
                        "Se renta cuarto cerca de la universidad."],
    },
    "pt": {
        "intro": ["Acabei de chegar.", "Novidade na cidade.", "Olá senhores.", "Atendimento discreto."],
        "youth": ["Novinha de verdade, carinha de menina.", "Ninfetinha inocente, primeira vez.",
                  "Menina bem novinha e tímida.", "Estudante novinha, sem experiência."],
        "age": ["Tem {n} anos.", "só {n} aninhos", "{n} anos mas madura", "idade {n}"],
        "control": ["Não mande mensagem para ela, fale com o responsável.",
                    "Meu agente marca tudo, ligue para ele.", "O cafetão cuida da agenda, peça pelo Zé.",
                    "Eu levo ela, combine tudo comigo."],
        "several": ["Várias meninas à escolha.", "Duas amigas juntas, novinhas.", "Temos meninas novas toda semana."],
        "rotation": ["As meninas mudam de cidade toda semana, o gerente responde.",
                     "Rodamos entre Recife e Salvador, meu sócio combina tudo."],
        "restrict": ["Ela não sai sozinha e não fala português.", "Não tem celular próprio, fica comigo.",
                     "Precisa pagar a dívida antes de sair."],
        "labour": ["Vagas no exterior para lavoura, o patrão fica com o passaporte.",
                   "Passagem e visto pagos, descontados do salário.",
                   "Trabalho em fábrica com alojamento, aluguel descontado, sem folga.",
                   "Não conte para a família onde vai trabalhar, tudo acertado com o gato."],
        "adult": ["Sou independente, 30 anos, em turnê por São Paulo, valores fixos, peço referências.",
                  "Me chamo Bia, 27, trabalho por conta própria, reserva com sinal.",
                  "Acompanhante madura visitando Lisboa, verificação obrigatória."],
        "benign_youth": ["Colônia de férias para crianças de {a} a {b} anos.", "Aulas de natação, meninas de {a}-{b} anos.",
                         "Creche com vagas, idades {a} a {b}."],
        "benign_job": ["Auxiliar de cozinha, R$17 por hora, sem taxa de colocação.",
                       "Você fica com o seu passaporte, pagamento semanal, vaga em armazém."],
        "benign_misc": ["Gatinhos novinhos para adoção, fale com a Maria.", "Morangos frescos colhidos hoje."],
    },
    "fr": {
        "intro": ["Nouvelle en ville.", "Bonjour messieurs.", "Disponible ce soir.", "Discrétion assurée."],
        "youth": ["Toute jeune et très fraîche, première fois.", "Petite lycéenne innocente.",
                  "Visage de petite fille, très naïve.", "Jeune minette timide, sans expérience."],
        "age": ["Elle a {n} ans.", "seulement {n} ans", "{n} ans mais mature", "âge {n}"],
        "control": ["N'écrivez pas à elle, parlez à son oncle qui organise.",
                    "Mon manager s'occupe des rendez-vous, appelez-le.", "Le patron gère son agenda, demandez Marc.",
                    "Je l'accompagne, tout se règle avec moi."],
        "several": ["Plusieurs filles au choix.", "Deux copines ensemble, toutes nouvelles.",
                    "De nouvelles filles chaque semaine."],
        "rotation": ["Les filles changent de ville chaque semaine, le responsable répond.",
                     "On tourne entre Lyon et Marseille, mon associé arrange tout."],
        "restrict": ["Elle ne sort jamais seule et ne parle pas français.", "Pas de téléphone à elle, je le garde.",
                     "Elle doit rembourser sa dette avant de partir."],
        "labour": ["Ouvriers agricoles à l'étranger, l'employeur garde le passeport.",
                   "Voyage et visa payés, retenus sur le salaire.",
                   "Usine avec logement sur place, loyer retenu, aucun jour de repos.",
                   "Ne dites pas à votre famille où vous travaillez."],
        "adult": ["Indépendante, 32 ans, de passage à Paris cette semaine, tarifs fixes, vérification demandée.",
                  "Je m'appelle Chloé, 29 ans, je gère mon agenda, acompte pour réserver.",
                  "Accompagnatrice mature en tournée à Bruxelles, références exigées."],
        "benign_youth": ["Colonie de vacances pour enfants de {a} à {b} ans.", "Cours de danse, filles de {a}-{b} ans.",
                         "Crèche, places pour {a} à {b} ans."],
        "benign_job": ["Commis de cuisine, 17 €/heure, aucun frais de placement.",
                       "Vous gardez votre passeport, paie chaque semaine, poste en entrepôt."],
        "benign_misc": ["Jeunes chatons à adopter, demandez Maria.", "Fraises fraîches cueillies ce matin."],
    },
    "ru": {
        "intro": ["Новенькая в городе.", "Привет, мужчины.", "Свободна сегодня.", "Только что приехала."],
        "youth": ["Совсем молоденькая и свежая, впервые.", "Юная школьница, очень невинная.",
                  "Малышка с детским личиком, наивная.", "Молодая девочка без опыта."],
        "age": ["Ей {n} лет.", "всего {n} лет", "{n} лет, но взрослая", "возраст {n}"],
        "control": ["Ей не пишите, звоните администратору.", "Всё решает мой менеджер, звоните ему.",
                    "Сутенёр принимает звонки, спросите Олега.", "Я её привожу, договаривайтесь со мной."],
        "several": ["Несколько девушек на выбор.", "Две подруги вместе, обе новенькие.",
                    "Новые девочки каждую неделю."],
        "rotation": ["Девочки меняют город каждую неделю, отвечает администратор.",
                     "Ездим по городам, мой партнёр всё устраивает."],
        "restrict": ["Она не выходит одна и не говорит по-русски.", "Своего телефона у неё нет, он у меня.",
                     "Должна отработать долг, прежде чем уйти."],
        "labour": ["Работа за границей на ферме, паспорт хранится у работодателя.",
                   "Дорога и виза оплачены, вычитаются из зарплаты.",
                   "Завод, жильё на территории, аренда вычитается, без выходных.",
                   "Не говорите семье, где работаете."],
        "adult": ["Независимая, 30 лет, в Москве на этой неделе, цены фиксированные, нужна проверка.",
                  "Меня зовут Алина, 28, работаю сама на себя, бронь по предоплате.",
                  "Взрослая спутница, путешествую, только вежливые мужчины."],
        "benign_youth": ["Летний лагерь для детей {a}-{b} лет.", "Секция плавания для девочек {a}-{b} лет.",
                         "Детский сад, группы от {a} до {b} лет."],
        "benign_job": ["Помощник повара, 17 долларов в час, без платы за трудоустройство.",
                       "Паспорт остаётся у вас, оплата еженедельно, работа на складе."],
        "benign_misc": ["Молодые котята ищут дом, спросите Марию.", "Свежая клубника каждый день."],
    },
    "zh": {
        "intro": ["新到本地。", "先生们好。", "今晚有空。", "刚到城里。"],
        "youth": ["学生妹，很嫩很纯。", "萝莉型，第一次，很单纯。", "小妹妹，没有经验，很害羞。", "嫩妹新到，清纯可爱。"],
        "age": ["她{n}岁。", "才{n}岁", "{n}岁但很成熟", "年龄{n}"],
        "control": ["不要直接联系她，找老板安排。", "经纪人负责预约，请打给他。", "妈咪接电话，问阿强。",
                    "我送她过去，一切跟我谈。"],
        "several": ["多位妹妹可选。", "两个姐妹一起，都是新来的。", "每周都有新妹妹。"],
        "rotation": ["妹妹们每周换城市，由经理回复。", "我们在几个城市轮流，合伙人安排一切。"],
        "restrict": ["她不能单独出门，也不会说英语。", "她没有自己的手机，在我这里。", "她要先还清债务才能走。"],
        "labour": ["海外农场招工，护照由老板保管。", "路费和签证先垫付，从工资里扣。", "工厂包住宿，房租从工资扣，没有休息日。",
                   "不要告诉家人你在哪里工作。"],
        "adult": ["独立工作，30岁，本周在温哥华，价格固定，需要验证。", "我叫小雅，28岁，自己安排时间，预约需订金。",
                  "成熟伴游，经常旅行，只接待有礼貌的客人。"],
        "benign_youth": ["夏令营招收{a}至{b}岁儿童。", "游泳班，{a}-{b}岁女孩。", "幼儿园招生，{a}到{b}岁。"],
        "benign_job": ["厨房帮工，每小时17美元，不收介绍费。", "护照由你自己保管，每周发工资，仓库工作。"],
        "benign_misc": ["小猫找新家，请找玛丽亚。", "新鲜草莓每天采摘。"],
    },
    "tl": {
        "intro": ["Bagong dating sa lungsod.", "Magandang gabi mga sir.", "Available ngayong gabi."],
        "youth": ["Batang-bata pa at sariwa, unang beses.", "Estudyanteng dalagita, inosente.",
                  "Mukhang bata, mahiyain at walang karanasan.", "Bagets na bagets, totoy-nene ang itsura."],
        "age": ["Siya ay {n} taong gulang.", "{n} anyos lang", "{n} pero mature", "edad {n}"],
        "control": ["Huwag siyang i-text, ang amo niya ang kausapin.", "Ang manager ko ang nag-aayos, tawagan siya.",
                    "Ang bugaw ang sumasagot, hanapin si Boy.", "Ako ang maghahatid sa kanya, ako ang kausapin."],
        "several": ["Maraming babae na pagpipilian.", "Dalawang magkaibigan, parehong bago.", "May bagong girls linggo-linggo."],
        "rotation": ["Lumilipat ng lungsod ang mga babae bawat linggo, ang amo ang sumasagot.",
                     "Umiikot kami sa Cebu at Davao, ang kasama ko ang nag-aayos."],
        "restrict": ["Hindi siya puwedeng lumabas mag-isa.", "Wala siyang sariling cellphone, nasa akin.",
                     "Kailangan niyang bayaran ang utang bago umalis."],
        "labour": ["Trabaho sa abroad sa bukid, ang amo ang hahawak ng pasaporte.",
                   "Libre ang pamasahe at visa, ibabawas sa sahod.",
                   "Pabrika na may tirahan, kaltas ang upa sa sahod, walang day off.",
                   "Huwag sabihin sa pamilya kung saan ka nagtatrabaho."],
        "adult": ["Independent ako, 29 taong gulang, nasa Makati ngayong linggo, fixed rate, may screening.",
                  "Ako si Jen, 27, sariling oras ko, may deposit para mag-book."],
        "benign_youth": ["Summer camp para sa mga batang {a} hanggang {b} taong gulang.",
                         "Klase sa paglangoy para sa edad {a}-{b}."],
        "benign_job": ["Helper sa kusina, $17 kada oras, walang placement fee.",
                       "Hawak mo ang sarili mong pasaporte, lingguhang sahod."],
        "benign_misc": ["Mga batang kuting para ampunin, hanapin si Maria.", "Sariwang mangga araw-araw."],
    },
    "ro": {
        "intro": ["Nouă în oraș.", "Bună seara domnilor.", "Disponibilă azi.", "Tocmai am ajuns."],
        "youth": ["Foarte tânără și proaspătă, prima dată.", "Eleva inocentă, fără experiență.",
                  "Față de fetiță, timidă și naivă.", "Puștoaică nouă, abia a început."],
        "age": ["Are {n} ani.", "doar {n} ani", "{n} ani dar matură", "vârsta {n}"],
        "control": ["Nu-i scrieți ei, vorbiți cu omul care se ocupă de ea.", "Managerul meu face programările, sunați-l.",
                    "Proxenetul răspunde la telefon, întrebați de Nelu.", "Eu o duc și o aduc, vorbiți cu mine."],
        "several": ["Mai multe fete la alegere.", "Două prietene împreună, amândouă noi.", "Fete noi în fiecare săptămână."],
        "rotation": ["Fetele schimbă orașul în fiecare săptămână, răspunde patronul.",
                     "Ne mutăm între Cluj și Iași, partenerul meu aranjează tot."],
        "restrict": ["Nu iese singură și nu vorbește limba.", "Nu are telefonul ei, îl țin eu.",
                     "Trebuie să-și plătească datoria înainte să plece."],
        "labour": ["Muncă în străinătate la fermă, patronul păstrează pașaportul.",
                   "Transportul și viza plătite, se rețin din salariu.",
                   "Fabrică cu cazare, chiria reținută din salariu, fără zile libere.",
                   "Nu spune familiei unde lucrezi."],
        "adult": ["Independentă, 31 de ani, în București săptămâna asta, tarife fixe, verificare obligatorie.",
                  "Sunt Ioana, 28, îmi fac singură programul, rezervare cu avans."],
        "benign_youth": ["Tabără de vară pentru copii de {a}-{b} ani.", "Curs de înot pentru fete de {a}-{b} ani."],
        "benign_job": ["Ajutor de bucătar, 17 lei pe oră, fără taxă de plasare.",
                       "Pașaportul rămâne la dumneavoastră, plata săptămânal."],
        "benign_misc": ["Pisoi tineri caută stăpân, întrebați de Maria.", "Căpșuni proaspete zilnic."],
    },
    "vi": {
        "intro": ["Mới đến thành phố.", "Chào các anh.", "Tối nay rảnh.", "Vừa mới tới."],
        "youth": ["Em còn rất trẻ và non, lần đầu.", "Nữ sinh ngây thơ, chưa có kinh nghiệm.",
                  "Gương mặt trẻ con, rụt rè.", "Em gái mới lớn, rất ngoan."],
        "age": ["Em {n} tuổi.", "mới {n} tuổi", "{n} tuổi nhưng chín chắn", "tuổi {n}"],
        "control": ["Đừng nhắn cho em, liên hệ quản lý.", "Quản lý của tôi sắp xếp lịch, gọi anh ấy.",
                    "Má mì nghe máy, hỏi anh Tuấn.", "Tôi đưa em đi, nói chuyện với tôi."],
        "several": ["Nhiều em để lựa chọn.", "Hai chị em đi cùng, đều mới.", "Mỗi tuần có em mới."],
        "rotation": ["Các em đổi thành phố mỗi tuần, quản lý trả lời.", "Chúng tôi đi vòng giữa các thành phố, đối tác lo hết."],
        "restrict": ["Em không được ra ngoài một mình.", "Em không có điện thoại riêng, tôi giữ.",
                     "Phải trả hết nợ mới được nghỉ."],
        "labour": ["Tuyển lao động nông trại nước ngoài, chủ giữ hộ chiếu.",
                   "Vé máy bay và visa trả trước, trừ vào lương.",
                   "Nhà máy có chỗ ở, tiền nhà trừ lương, không có ngày nghỉ.",
                   "Đừng nói với gia đình bạn làm ở đâu."],
        "adult": ["Tôi làm độc lập, 30 tuổi, ở Sài Gòn tuần này, giá cố định, cần xác minh.",
                  "Tôi là Linh, 27 tuổi, tự sắp xếp thời gian, đặt cọc trước."],
        "benign_youth": ["Trại hè cho trẻ từ {a} đến {b} tuổi.", "Lớp bơi cho bé gái {a}-{b} tuổi."],
        "benign_job": ["Phụ bếp, 17 đô một giờ, không thu phí giới thiệu.", "Bạn tự giữ hộ chiếu, trả lương hàng tuần."],
        "benign_misc": ["Mèo con cần nhà mới, hỏi chị Maria.", "Dâu tây tươi mỗi ngày."],
    },
    "th": {
        "intro": ["มาใหม่ในเมือง", "สวัสดีค่ะคุณผู้ชาย", "ว่างคืนนี้", "เพิ่งมาถึง"],
        "youth": ["น้องยังเด็กและสดมาก ครั้งแรก", "นักเรียนใสซื่อ ไม่มีประสบการณ์", "หน้าเด็ก ขี้อาย", "น้องสาวเด็กๆ น่ารัก"],
        "age": ["น้องอายุ {n} ปี", "แค่ {n} ปี", "{n} ปีแต่เป็นผู้ใหญ่", "อายุ {n}"],
        "control": ["อย่าทักน้องโดยตรง ติดต่อผู้จัดการ", "ผู้จัดการของฉันจัดคิว โทรหาเขา", "แมงดารับสาย ถามหาพี่ต้น",
                    "ฉันพาน้องไปส่ง คุยกับฉัน"],
        "several": ["มีน้องหลายคนให้เลือก", "สองสาวมาด้วยกัน ใหม่ทั้งคู่", "มีน้องใหม่ทุกสัปดาห์"],
        "rotation": ["น้องๆ ย้ายเมืองทุกสัปดาห์ ผู้จัดการตอบ", "เราเวียนไปหลายเมือง หุ้นส่วนจัดการให้"],
        "restrict": ["น้องออกไปไหนคนเดียวไม่ได้", "น้องไม่มีโทรศัพท์ของตัวเอง ฉันเก็บไว้", "ต้องใช้หนี้ให้หมดก่อนถึงจะออกได้"],
        "labour": ["รับสมัครคนงานฟาร์มต่างประเทศ นายจ้างเก็บหนังสือเดินทาง", "ค่าเดินทางและวีซ่าออกให้ก่อน หักจากเงินเดือน",
                   "โรงงานมีที่พัก หักค่าเช่าจากเงินเดือน ไม่มีวันหยุด", "อย่าบอกครอบครัวว่าทำงานที่ไหน"],
        "adult": ["ทำงานอิสระ อายุ 30 อยู่กรุงเทพสัปดาห์นี้ ราคาคงที่ ต้องยืนยันตัวตน", "ฉันชื่อฝน อายุ 27 จัดเวลาเอง จองต้องมัดจำ"],
        "benign_youth": ["ค่ายฤดูร้อนสำหรับเด็กอายุ {a}-{b} ปี", "คลาสว่ายน้ำสำหรับเด็กหญิงอายุ {a}-{b} ปี"],
        "benign_job": ["ผู้ช่วยครัว 17 ดอลลาร์ต่อชั่วโมง ไม่มีค่านายหน้า", "คุณเก็บหนังสือเดินทางเอง จ่ายเงินทุกสัปดาห์"],
        "benign_misc": ["ลูกแมวหาบ้านใหม่ ถามหามาเรีย", "สตรอเบอร์รี่สดทุกวัน"],
    },
}

CONTACT = ["Text {p}", "{p}", "WhatsApp {p}", "call/text {p} ", "📱 {p}", "Tel: {p}", "☎ {p}", "SMS {p}"]
LATIN = {"en", "es", "pt", "fr", "tl", "ro", "vi"}

# --------------------------------------------------------------------------------------------------
# Evasions (applied to English and other Latin-script posts; see the module docstring)

EVASION_WORDS = ["young", "fresh", "innocent", "daddy", "manager", "schoolgirl", "girls", "passport", "teen",
                 "little", "boss", "uncle", "sisters", "naive", "baby"]
HOMO = {"a": "а", "e": "е", "o": "օ", "p": "р", "c": "с", "y": "у", "i": "і", "n": "ո", "u": "ս", "h": "հ",
        "s": "ѕ", "x": "х", "g": "ց", "d": "ԁ"}
ZW = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u180e"]
BLANKS = ["\u2800", "\u3164", "\u2005", "\u2009", "\u205f"]
MISSPELL = {"young": ["yung", "yooung", "yuong"], "fresh": ["fressh", "frsh"], "barely legal": ["barley legal", "barly legal"],
            "daddy": ["dady", "dadi"], "manager": ["mngr", "managr"], "innocent": ["inocent", "innocant"],
            "english": ["engrish", "englsh"], "schoolgirl": ["skoolgirl", "schoolgrl"], "passport": ["pasport", "passprt"],
            "little": ["lil", "litle"], "teen": ["tein", "teeen"]}
EMOJI_FOR = {"girl": "👧", "girls": "👧👧", "schoolgirl": "🏫👧", "young": "🐣", "new": "🆕", "drives": "🚗",
             "fresh": "🐣", "baby": "🍼"}


def _pick_word(text: str, rng: random.Random) -> str | None:
    found = [w for w in EVASION_WORDS if w in text.lower()]
    return rng.choice(found) if found else None


def _replace_word(text: str, word: str, new: str) -> str:
    low = text.lower()
    i = low.find(word)
    return text if i < 0 else text[:i] + new + text[i + len(word):]


def ev_zero_width(text: str, word: str, rng: random.Random) -> str:
    return _replace_word(text, word, "".join(c + (rng.choice(ZW) if rng.random() < 0.6 else "") for c in word[:-1]) + word[-1])


def ev_blank(text: str, word: str, rng: random.Random) -> str:
    blank = rng.choice(BLANKS)
    return _replace_word(text, word, blank.join(word))


def ev_mark(text: str, word: str, rng: random.Random) -> str:
    k = rng.randrange(1, len(word) - 1)
    return _replace_word(text, word, word[:k] + rng.choice("-._*'") + word[k:])


def ev_homoglyph(text: str, word: str, rng: random.Random) -> str:
    return _replace_word(text, word, "".join(HOMO[c] if c in HOMO and rng.random() < 0.6 else c for c in word))


def ev_fullwidth(text: str, word: str, rng: random.Random) -> str:
    return _replace_word(text, word, "".join(chr(ord(c) + 0xFEE0) if c.isalpha() else c for c in word))


def ev_leet(text: str, word: str, rng: random.Random) -> str:
    table = {"o": "0", "e": "3", "a": "4", "i": "1", "s": "5", "t": "7"}
    inner = [k for k in range(1, len(word) - 1) if word[k] in table]
    if not inner:
        return text
    k = rng.choice(inner)
    return _replace_word(text, word, word[:k] + table[word[k]] + word[k + 1:])


def ev_spaced_run(text: str, word: str, rng: random.Random) -> str:
    """Letters spaced out, the last one running into the next word (``y o u n ggirl``)."""
    low = text.lower()
    i = low.find(word)
    j = i + len(word)
    if j < len(text) and text[j] == " ":
        return text[:i] + " ".join(word) + text[j + 1:]
    return text[:i] + " ".join(word) + text[j:]


def ev_misspell(text: str, word: str, rng: random.Random) -> str:
    for right, wrongs in MISSPELL.items():
        if right in text.lower():
            return _replace_word(text, right, rng.choice(wrongs))
    return text


def ev_emoji(text: str, word: str, rng: random.Random) -> str:
    options = [w for w in EMOJI_FOR if f" {w} " in f" {text.lower()} "]
    if not options:
        return text
    w = rng.choice(options)
    return _replace_word(text, f"{w}", EMOJI_FOR[w])


EVASIONS = {"zero_width": ev_zero_width, "blank": ev_blank, "mark": ev_mark, "homoglyph": ev_homoglyph,
            "fullwidth": ev_fullwidth, "leet": ev_leet, "spaced_run": ev_spaced_run, "misspelling": ev_misspell,
            "emoji": ev_emoji}


def apply_evasions(text: str, names: list[str], rng: random.Random) -> tuple[str, list[str]]:
    applied = []
    for name in names:
        word = _pick_word(text, rng)
        if word is None:
            break
        new = EVASIONS[name](text, word, rng)
        if new != text:
            text = new
            applied.append(name)
    return text, applied


# --------------------------------------------------------------------------------------------------

STYLE = ["plain", "shout", "emoji", "terse", "chatty"]
EMOJI_DECOR = ["💋", "✨", "🌸", "😘", "💕", "🔥", "🌹"]


def styled(parts: list[str], rng: random.Random, lang: str) -> str:
    style = rng.choice(STYLE)
    if style == "shout" and lang in LATIN | {"ru"}:
        parts = [p.upper() if rng.random() < 0.5 else p for p in parts]
    if style == "emoji":
        parts = [p + " " + rng.choice(EMOJI_DECOR) for p in parts]
    sep = " " if style != "terse" else " / "
    if style == "chatty" and lang == "en":
        parts = ["Hey hun!!", *parts, "xoxo"]
    return sep.join(parts)


def phone(rng: random.Random) -> str:
    area = rng.choice(["212", "312", "415", "612", "702", "305", "214", "646"])
    return f"{area}-555-01{rng.randrange(100):02d}"


def positive(lang: str, rng: random.Random, labour: bool) -> tuple[str, str, list[str]]:
    m = LANG[lang]
    if labour:
        parts = rng.sample(m["labour"], k=min(2, len(m["labour"])))
        return " ".join(parts) + " " + rng.choice(CONTACT).format(p=phone(rng)), "labour_trafficking", ["labour"]
    concepts = rng.sample(["youth", "age", "control", "several", "rotation", "restrict"], k=rng.choice([1, 2, 2]))
    parts = [rng.choice(m["intro"])]
    for c in concepts:
        s = rng.choice(m[c])
        parts.append(s.format(n=rng.choice([14, 15, 16, 17])) if c == "age" else s)
    parts.append(rng.choice(CONTACT).format(p=phone(rng)))
    return styled(parts, rng, lang), "trafficking", concepts


def negative(lang: str, rng: random.Random, kind: str) -> str:
    m = LANG[lang]
    if kind == "adult":
        parts = [rng.choice(m["adult"])]
        if rng.random() < 0.5:
            parts.insert(0, rng.choice(m["intro"]))
        parts.append(rng.choice(CONTACT).format(p=phone(rng)))
        return styled(parts, rng, lang)
    slot = rng.choice(["benign_youth", "benign_job", "benign_misc", "benign_youth"])
    a = rng.choice([4, 5, 6, 8, 10, 12, 13])
    s = rng.choice(m[slot]).format(a=a, b=min(17, a + rng.choice([3, 4, 5])))
    return s + " " + rng.choice(CONTACT).format(p=phone(rng))


def build() -> list[dict[str, object]]:
    rng = random.Random(SEED)
    rows: list[dict[str, object]] = []

    def add(text: str, label: str, lang: str, group: str, evasions: list[str], concepts: list[str]) -> None:
        rows.append({"id": f"eval-{len(rows):05d}", "source": "eval.example", "posted_at": "2025-06-01T12:00:00Z",
                     "body": text, "label": label, "language": lang, "group": group, "evasions": evasions,
                     "concepts": concepts})

    for lang in LANG:
        for i in range(70):
            text, label, concepts = positive(lang, rng, labour=i % 4 == 0)
            evs: list[str] = []
            if lang in LATIN and rng.random() < 0.3:
                text, evs = apply_evasions(text, [rng.choice(list(EVASIONS))], rng)
            add(text, label, lang, "positive", evs, concepts)
        for _ in range(45):
            add(negative(lang, rng, "adult"), "adult_no_indicators", lang, "adult", [], [])
        for _ in range(40):
            add(negative(lang, rng, "benign"), "benign", lang, "benign", [], [])
    # English evasion suite: each evasion alone, and several combined.
    for name in EVASIONS:
        for _ in range(25):
            text, label, concepts = positive("en", rng, labour=rng.random() < 0.15)
            text, evs = apply_evasions(text, [name], rng)
            add(text, label, "en", "positive", evs, concepts)
    for _ in range(50):
        text, label, concepts = positive("en", rng, labour=False)
        names = rng.sample(list(EVASIONS), k=3)
        text, evs = apply_evasions(text, names, rng)
        add(text, label, "en", "positive", evs + (["combined"] if len(evs) > 1 else []), concepts)
    # Evasions applied to benign and adult posts must not create alarms either.
    for _ in range(60):
        kind = rng.choice(["adult", "benign"])
        text = negative("en", rng, kind)
        text, evs = apply_evasions(text, [rng.choice(list(EVASIONS))], rng)
        add(text, "adult_no_indicators" if kind == "adult" else "benign", "en", kind, evs, [])
    return rows


def main() -> None:
    rows = build()
    with OUT.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} posts to {OUT}")


if __name__ == "__main__":
    main()
